package io.switchboard.jmh;

import io.switchboard.bus.StreamChunk;
import io.switchboard.connection.OpenAiJson;
import io.switchboard.inference.OpenAiStreamParser;
import io.vertx.core.buffer.Buffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/**
 * The relay's work per streamed chunk: parse the upstream's SSE line, encode the chunk for the event bus,
 * and write the client's SSE event. Each is measured alone and all three together.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SseRelayBenchmark {
  private final Buffer upstreamLine = Buffer.buffer("data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\","
    + "\"created\":1795387698,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\","
    + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token\"},\"logprobs\":null,\"finish_reason\":null}]}");
  private final String prefix = OpenAiJson.chunkPrefix("req_0123456789abcdef01234567", "gpt-4o-mini");
  private String lastDelta;
  private final OpenAiStreamParser parser = new OpenAiStreamParser(delta -> lastDelta = delta);

  @Benchmark
  public String parseUpstreamLine() {
    parser.line(upstreamLine);
    return lastDelta;
  }

  @Benchmark
  public String writeClientEvent() {
    return OpenAiJson.deltaEvent(prefix, " token", false);
  }

  @Benchmark
  public void wholeRelayPerChunk(Blackhole hole) {
    parser.line(upstreamLine);
    Buffer wire = Buffer.buffer(64);
    StreamChunk.CODEC.encodeToWire(wire, new StreamChunk("req_0123456789abcdef01234567", 7, lastDelta));
    StreamChunk arrived = StreamChunk.CODEC.decodeFromWire(0, wire);
    hole.consume(OpenAiJson.deltaEvent(prefix, arrived.delta(), false));
  }
}
