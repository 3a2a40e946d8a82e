package io.switchboard.jmh;

import io.switchboard.bus.StreamChunk;
import io.switchboard.inference.OpenAiStreamReader;
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
 * The relay's work per streamed chunk: read the upstream's SSE line, writing the gateway's id and model into its bytes
 * and framing it as the client's SSE event in one copy (parseUpstreamLine: all the work when the stream stays on one
 * node, where the bus hands the chunk on without a copy), and with the chunk carried between nodes on the event bus
 * (wholeRelayPerChunk). The same upstream line as before the relay kept chunks whole (perf/results/2026-11-22-jmh.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SseRelayBenchmark {
  private final Buffer upstreamLine = Buffer.buffer("data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\","
    + "\"created\":1795387698,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\","
    + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token\"},\"logprobs\":null,\"finish_reason\":null}]}");
  private final Buffer toolCallLine = Buffer.buffer("data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\","
    + "\"created\":1795387698,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\","
    + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"city\\\":\"}}]},"
    + "\"logprobs\":null,\"finish_reason\":null}]}");
  /** A stream's lines as they differ: the same chunk but for its text (one token has an escape in it). */
  private final Buffer[] varyingLines = java.util.stream.Stream.of(" token", " of", " the", " answer", ",\\n", " and",
      " more", " 你好")
    .map(text -> Buffer.buffer("data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\","
      + "\"created\":1795387698,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\","
      + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"},\"logprobs\":null,\"finish_reason\":null}]}"))
    .toArray(Buffer[]::new);
  private int next;
  private Buffer lastData;
  private String lastText;
  private int lastFlags;
  private OpenAiStreamReader reader;
  private int lines;

  /** A reader per stream, as the relay has: a stream here is 1,000 chunks (its assembled message stays that size). */
  private OpenAiStreamReader reader() {
    if (reader == null || ++lines == 1_000) {
      lines = 0;
      reader = new OpenAiStreamReader("chatcmpl-req_0123456789abcdef01234567", "gpt-4o-mini", (data, text, flags) -> {
        lastData = data;
        lastText = text;
        lastFlags = flags;
      });
    }
    return reader;
  }

  @Benchmark
  public Buffer parseUpstreamLine() {
    reader().line(upstreamLine);
    return lastData;
  }

  @Benchmark
  public Buffer parseVaryingLines() {
    reader().line(varyingLines[next++ & 7]);
    return lastData;
  }

  @Benchmark
  public Buffer parseToolCallLine() {
    reader().line(toolCallLine);
    return lastData;
  }

  @Benchmark
  public void wholeRelayPerChunk(Blackhole hole) {
    reader().line(upstreamLine);
    Buffer wire = Buffer.buffer(256);
    StreamChunk.CODEC.encodeToWire(wire, StreamChunk.chunk("req_0123456789abcdef01234567", 7, lastData, lastText,
      lastFlags));
    StreamChunk arrived = StreamChunk.CODEC.decodeFromWire(0, wire);
    hole.consume(arrived.data()); // the SSE client gets these bytes as they are: already framed
  }
}
