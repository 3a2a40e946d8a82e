package io.switchboard.guardrails;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.switchboard.bus.StreamChunk;
import io.switchboard.config.SwitchboardConfig.Guardrail;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * What guardrails cost a message: a 10,000-word list (Chinese and English) over a 2,000-character message, whole
 * (an input check) and streamed in 20-character chunks through the look-behind filter (an output check), and the
 * PII detectors over the same message. In the guardrails package: the checks are package-private.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class GuardrailsBenchmark {
  private static final int WORDS = 10_000;
  private static final int MESSAGE_CHARS = 2_000;
  private static final int CHUNK_CHARS = 20;

  private List<Policy> words;
  private List<Policy> pii;
  private String clean;
  private String withHit;
  private List<StreamChunk> chunks;
  private Guardrails.Decisions decisions;

  @Setup
  public void setUp() {
    Random random = new Random(42);
    Set<String> list = new LinkedHashSet<>();
    while (list.size() < WORDS) {
      list.add(random.nextBoolean() ? chinese(random, 2 + random.nextInt(3)) : english(random, 6 + random.nextInt(5)));
    }
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    words = List.of(new Policy(new Guardrail("words", "words", Set.of("input", "output"), "flag", List.copyOf(list),
      List.of(), List.of(), "***", null, null, 0, null, 10), registry));
    pii = List.of(new Policy(new Guardrail("pii", "pii", Set.of("input", "output"), "redact", List.of(),
      List.of("cn_mobile", "cn_id_card", "email", "bank_card", "ipv4", "ipv6"), List.of(), null, null, null, 0, null,
      64), registry));
    // common text: the random list almost surely holds none of it, so every character is scanned for nothing
    StringBuilder text = new StringBuilder();
    while (text.length() < MESSAGE_CHARS) {
      text.append(random.nextInt(4) == 0 ? "你好世界，今天天气很好。" : "the quick brown fox jumps over ");
    }
    clean = text.substring(0, MESSAGE_CHARS);
    String word = list.iterator().next();
    withHit = clean.substring(0, MESSAGE_CHARS / 2) + word + clean.substring(MESSAGE_CHARS / 2 + word.length());
    chunks = new ArrayList<>();
    for (int at = 0, seq = 0; at < MESSAGE_CHARS; at += CHUNK_CHARS, seq++) {
      String piece = clean.substring(at, Math.min(MESSAGE_CHARS, at + CHUNK_CHARS));
      chunks.add(StreamChunk.chunk("r", seq, StreamChunk.event(Buffer.buffer("{\"choices\":[{\"index\":0,\"delta\":"
        + "{\"content\":\"" + piece + "\"}}]}")), piece, 0));
    }
    decisions = new Guardrails.Decisions("bench", "input");
  }

  private static String chinese(Random random, int length) {
    StringBuilder word = new StringBuilder();
    for (int i = 0; i < length; i++) {
      word.append((char) (0x4E00 + random.nextInt(0x5000)));
    }
    return word.toString();
  }

  private static String english(Random random, int length) {
    StringBuilder word = new StringBuilder();
    for (int i = 0; i < length; i++) {
      word.append((char) ('a' + random.nextInt(26)));
    }
    return word.toString();
  }

  /** The input check of a clean message: normalize, one pass of the automaton. */
  @Benchmark
  public String words10kClean2kChars() {
    return Guardrails.text(clean, words, decisions);
  }

  /** The same with one listed word in the middle (flagged: found, counted, the text kept). */
  @Benchmark
  public String words10kOneHit2kChars() {
    return Guardrails.text(withHit, words, decisions);
  }

  /** Every built-in PII detector over the clean message. */
  @Benchmark
  public String piiAllDetectors2kChars() {
    return Guardrails.text(clean, pii, decisions);
  }

  /** The message streamed in 100 chunks through the output filter (the words list's 10-character window). */
  @Benchmark
  public void words10kStreamed100Chunks(Blackhole hole) {
    StreamGuard guard = new StreamGuard(words, decisions, t -> Future.succeededFuture());
    for (StreamChunk chunk : chunks) {
      hole.consume(guard.accept(chunk));
    }
    hole.consume(guard.finish());
  }
}
