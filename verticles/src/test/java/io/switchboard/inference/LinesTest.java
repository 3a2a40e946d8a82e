package io.switchboard.inference;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.parsetools.RecordParser;
import io.vertx.core.streams.ReadStream;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The stream's lines as Vert.x's RecordParser gives them, however the bytes are cut into reads, and its flow
 * control: nothing while paused, the source paused too, the end only after the last line.
 */
class LinesTest {
  /** A read stream the test pushes reads into, as the HTTP client's response does. */
  private static final class Source implements ReadStream<Buffer> {
    Handler<Buffer> handler;
    Handler<Void> end;
    boolean paused;

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
      paused = true;
      return this;
    }

    @Override
    public ReadStream<Buffer> resume() {
      paused = false;
      return this;
    }

    @Override
    public ReadStream<Buffer> fetch(long amount) {
      return resume();
    }

    @Override
    public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
      this.end = endHandler;
      return this;
    }

    void push(String bytes) {
      handler.handle(Buffer.buffer(bytes.getBytes(StandardCharsets.UTF_8)));
    }

    void push(byte[] bytes, int from, int to) {
      handler.handle(Buffer.buffer().appendBytes(bytes, from, to - from));
    }
  }

  private static List<String> collect(ReadStream<Buffer> lines, List<String> ends) {
    List<String> got = new ArrayList<>();
    lines.handler(line -> got.add(line.toString(StandardCharsets.UTF_8)));
    lines.endHandler(v -> ends.add("end after " + got.size()));
    return got;
  }

  @Test
  void lines_whole_split_across_reads_empty_and_the_last_without_its_newline_come_as_the_record_parser_gives_them() {
    Source source = new Source();
    List<String> ends = new ArrayList<>();
    List<String> got = collect(new Lines(source), ends);
    source.push("data: {\"a\":1}\n\ndata: {\"b\"");
    source.push(":2}\r\n");
    source.push("\n");
    source.push("");
    source.push(": keep-alive\ndata: [DONE]");
    assertEquals(List.of("data: {\"a\":1}", "", "data: {\"b\":2}\r", "", ": keep-alive"), got);
    assertTrue(ends.isEmpty());
    source.end.handle(null);
    assertEquals(List.of("data: {\"a\":1}", "", "data: {\"b\":2}\r", "", ": keep-alive", "data: [DONE]"), got);
    assertEquals(List.of("end after 6"), ends);
  }

  @Test
  void any_cut_of_a_stream_into_reads_gives_the_lines_the_record_parser_gives() {
    Random random = new Random(17);
    for (int trial = 0; trial < 300; trial++) {
      StringBuilder text = new StringBuilder();
      int parts = random.nextInt(30);
      for (int i = 0; i < parts; i++) {
        switch (random.nextInt(5)) {
          case 0 -> text.append('\n');
          case 1 -> text.append("\r\n");
          case 2 -> text.append("data: {\"choices\":[{\"delta\":{\"content\":\"é").append(i).append("\"}}]}");
          case 3 -> text.append("x".repeat(random.nextInt(200)));
          default -> text.append("data: [DONE]\n\n");
        }
      }
      byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
      List<Integer> cuts = new ArrayList<>();
      for (int at = 0; at < bytes.length; at += 1 + random.nextInt(40)) {
        cuts.add(at);
      }
      cuts.add(bytes.length);

      Source expectedSource = new Source();
      List<String> expectedEnds = new ArrayList<>();
      List<String> expected = collect(RecordParser.newDelimited("\n", expectedSource), expectedEnds);
      Source actualSource = new Source();
      List<String> actualEnds = new ArrayList<>();
      List<String> actual = collect(new Lines(actualSource), actualEnds);
      for (int i = 1; i < cuts.size(); i++) {
        expectedSource.push(bytes, cuts.get(i - 1), cuts.get(i));
        actualSource.push(bytes, cuts.get(i - 1), cuts.get(i));
        assertEquals(expected, actual, "after read " + i + " of " + text);
      }
      expectedSource.end.handle(null);
      actualSource.end.handle(null);
      assertEquals(expected, actual, text.toString());
      assertEquals(expectedEnds, actualEnds, text.toString());
    }
  }

  @Test
  void paused_in_a_line_it_gives_nothing_more_and_pauses_its_source_until_resumed_and_ends_only_after_the_last_line() {
    Source source = new Source();
    Lines lines = new Lines(source);
    List<String> got = new ArrayList<>();
    List<String> ends = new ArrayList<>();
    lines.handler(line -> {
      got.add(line.toString(StandardCharsets.UTF_8));
      if (got.size() == 1) {
        lines.pause(); // the client fell behind
      }
    });
    lines.endHandler(v -> ends.add("end"));
    source.push("one\ntwo\nthr");
    assertEquals(List.of("one"), got);
    assertTrue(source.paused);
    source.push("ee\nfour"); // a read already on its way when the pause came
    source.end.handle(null);
    assertEquals(List.of("one"), got);
    assertTrue(ends.isEmpty());

    lines.resume();
    assertEquals(List.of("one", "two", "three", "four"), got);
    assertEquals(List.of("end"), ends);
    assertTrue(source.paused, "an ended source is not resumed");
  }

  @Test
  void resumed_before_the_source_ends_it_resumes_its_source() {
    Source source = new Source();
    Lines lines = new Lines(source);
    List<String> ends = new ArrayList<>();
    List<String> got = collect(lines, ends);
    lines.pause();
    source.push("a\nb\n");
    assertTrue(got.isEmpty());
    lines.resume();
    assertEquals(List.of("a", "b"), got);
    assertFalse(source.paused);
    assertTrue(ends.isEmpty());
  }
}
