package io.switchboard.jmh;

import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.StreamChunk;
import io.vertx.core.buffer.Buffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

import java.util.List;
import java.util.concurrent.TimeUnit;

/** The event bus codecs on the wire (what crosses between nodes): a stream chunk and a chat request. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CodecBenchmark {
  private final StreamChunk chunk = StreamChunk.chunk("req_0123456789abcdef01234567", 41, Buffer.buffer(
    "{\"id\":\"chatcmpl-req_0123456789abcdef01234567\",\"object\":\"chat.completion.chunk\",\"created\":1795387698,"
      + "\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{\"index\":0,"
      + "\"delta\":{\"content\":\" token\"},\"logprobs\":null,\"finish_reason\":null}]}"), " token", 0);
  private final ChatRequest request = new ChatRequest("req_0123456789abcdef01234567", "acme", "gpt-4o-mini",
    List.of(new ChatMessage("system", "You are a helpful assistant."),
      new ChatMessage("user", "What is the capital of France?"),
      new ChatMessage("assistant", "Paris is the capital of France."),
      new ChatMessage("user", "And of Germany? Answer in one word, please.")),
    true, new io.vertx.core.json.JsonObject().put("temperature", 0.2), "switchboard.inbox.0a14676fa0f3.1", 300_000, "conv-1", 0);
  private final Buffer chunkWire = Buffer.buffer();
  private final Buffer requestWire = Buffer.buffer();

  {
    StreamChunk.CODEC.encodeToWire(chunkWire, chunk);
    ChatRequest.CODEC.encodeToWire(requestWire, request);
  }

  @Benchmark
  public Buffer chunkEncode() {
    Buffer buffer = Buffer.buffer(64);
    StreamChunk.CODEC.encodeToWire(buffer, chunk);
    return buffer;
  }

  @Benchmark
  public StreamChunk chunkDecode() {
    return StreamChunk.CODEC.decodeFromWire(0, chunkWire);
  }

  @Benchmark
  public Buffer requestEncode() {
    Buffer buffer = Buffer.buffer(512);
    ChatRequest.CODEC.encodeToWire(buffer, request);
    return buffer;
  }

  @Benchmark
  public ChatRequest requestDecode() {
    return ChatRequest.CODEC.decodeFromWire(0, requestWire);
  }
}
