package io.switchboard.jmh;

import io.switchboard.inference.Lines;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.parsetools.RecordParser;
import io.vertx.core.streams.ReadStream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A whole stream's bytes split into lines, per stream: Vert.x's RecordParser (what the relay used) against
 * {@link Lines}. The stream is the static upstream's (perf/src StaticUpstream, 16 chunks: a role chunk, 16 words, a
 * finish chunk and [DONE], each event followed by its blank line), given in reads of {@code readBytes} bytes (the
 * whole stream in one read, as on loopback, or cut as a slower network would).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class LinesBenchmark {
  @Param({"100000", "512"})
  public int readBytes;

  private final List<Buffer> reads = new ArrayList<>();

  /** A source the benchmark pushes the reads into. */
  private static final class Source implements ReadStream<Buffer> {
    Handler<Buffer> handler;
    Handler<Void> end;

    @Override
    public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
      return this;
    }

    @Override
    public ReadStream<Buffer> handler(Handler<Buffer> handler) {
      this.handler = handler;
      return this;
    }

    @Override
    public ReadStream<Buffer> pause() {
      return this;
    }

    @Override
    public ReadStream<Buffer> resume() {
      return this;
    }

    @Override
    public ReadStream<Buffer> fetch(long amount) {
      return this;
    }

    @Override
    public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
      this.end = endHandler;
      return this;
    }
  }

  @Setup
  public void stream() {
    StringBuilder events = new StringBuilder();
    events.append(event("{\"role\":\"assistant\",\"content\":\"\"}", "null"));
    for (int i = 0; i < 16; i++) {
      events.append(event("{\"content\":\"word" + i + " \"}", "null"));
    }
    events.append(event("{}", "\"stop\"")).append("data: [DONE]\n\n");
    byte[] bytes = events.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    for (int at = 0; at < bytes.length; at += readBytes) {
      reads.add(Buffer.buffer().appendBytes(bytes, at, Math.min(readBytes, bytes.length - at)));
    }
  }

  private static String event(String delta, String finish) {
    return "data: {\"id\":\"chatcmpl-static\",\"object\":\"chat.completion.chunk\",\"created\":1795387698,"
      + "\"model\":\"static\",\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":" + finish + "}]}\n\n";
  }

  private void run(ReadStream<Buffer> lines, Source source, Blackhole hole) {
    lines.handler(hole::consume);
    lines.endHandler(hole::consume);
    for (Buffer read : reads) {
      source.handler.handle(read);
    }
    source.end.handle(null);
  }

  @Benchmark
  public void recordParser(Blackhole hole) {
    Source source = new Source();
    run(RecordParser.newDelimited("\n", source), source, hole);
  }

  @Benchmark
  public void lines(Blackhole hole) {
    Source source = new Source();
    run(new Lines(source), source, hole);
  }
}
