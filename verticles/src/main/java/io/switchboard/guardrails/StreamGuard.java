package io.switchboard.guardrails;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.StreamChunk;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The output policies of one streamed answer. Chunks are held back until at least a window's worth of text
 * (the longest word of a list, 64 characters for PII unless set) follows them, so a word split across chunks is
 * seen whole before any part of it is written. A chunk a policy redacted is re-encoded with its new content; every
 * other chunk goes on as the upstream's own bytes. A block keeps everything held and ends the stream with a
 * {@link Guardrails#violation}. Moderation, which needs the whole text, vets it before the end is written.
 */
public final class StreamGuard {
  private final List<Policy> checks;
  private final Guardrails.Decisions decisions;
  private final Function<String, Future<Void>> moderation;
  private final boolean moderates;
  private final int hold;
  private final ArrayDeque<Held> held = new ArrayDeque<>();
  private int heldChars;
  private ApiError blocked;

  StreamGuard(List<Policy> checks, Guardrails.Decisions decisions, Function<String, Future<Void>> moderation) {
    this.checks = checks;
    this.decisions = decisions;
    this.moderation = moderation;
    this.moderates = checks.stream().anyMatch(Policy::moderation);
    this.hold = checks.stream().filter(p -> !p.moderation()).mapToInt(p -> p.config.windowChars()).max().orElse(1) - 1;
  }

  /** The chunks that may be written now, in order (none once blocked). */
  public List<StreamChunk> accept(StreamChunk chunk) {
    if (blocked != null) {
      return List.of();
    }
    held.add(new Held(chunk));
    heldChars += chunk.text().length();
    if (!chunk.text().isEmpty()) {
      scan(false);
    }
    return release(false);
  }

  /** The stream ended: what is still held, checked as final text. */
  public List<StreamChunk> finish() {
    if (blocked != null) {
      return List.of();
    }
    scan(true);
    return release(true);
  }

  /** The violation that ended the stream; null while it goes on. */
  public ApiError blocked() {
    return blocked;
  }

  /** Text received but not yet written (a continuation goes on after it). */
  public String heldText() {
    StringBuilder text = new StringBuilder(heldChars);
    held.forEach(h -> text.append(h.text));
    return text.toString();
  }

  /** Whether the finished answer must be vetted by a moderation model before its end is written. */
  public boolean moderates() {
    return moderates;
  }

  /** The finished answer's text through the moderation policies: fails with the violation when one blocks it. */
  public Future<Void> vet(String text) {
    return moderation.apply(text);
  }

  private void scan(boolean complete) {
    String text = heldText();
    for (Policy policy : checks) {
      if (policy.moderation() || text.isEmpty()) {
        continue;
      }
      NormalizedText normalized = NormalizedText.of(text);
      List<Detector.Hit> hits = policy.hits(normalized, complete);
      if (hits.isEmpty()) {
        continue;
      }
      decisions.decide(policy);
      if (policy.blocks()) {
        blocked = Guardrails.violation(policy.name(), Guardrails.OUTPUT);
        held.clear();
        heldChars = 0;
        return;
      }
      if (policy.redacts()) {
        for (int i = hits.size() - 1; i >= 0; i--) {
          Detector.Hit hit = hits.get(i);
          replace(normalized.originalStart(hit.start()), normalized.originalEnd(hit.end()), hit.placeholder());
        }
        text = heldText();
      }
    }
  }

  /** Replaces [start, end) of the held text: the placeholder goes where the match starts, the rest is cut. */
  private void replace(int start, int end, String placeholder) {
    int at = 0; // in the text as it was before this replacement
    for (Held h : held) {
      int length = h.text.length();
      int from = Math.max(start, at);
      int to = Math.min(end, at + length);
      if (from < to) {
        h.text.replace(from - at, to - at, from == start ? placeholder : "");
        h.changed = true;
      }
      at += length;
    }
    heldChars = 0;
    held.forEach(h -> heldChars += h.text.length());
  }

  private List<StreamChunk> release(boolean all) {
    List<StreamChunk> out = new ArrayList<>(2);
    while (!held.isEmpty() && (all || heldChars - held.peek().text.length() >= hold)) {
      Held front = held.poll();
      heldChars -= front.text.length();
      out.add(front.chunk());
    }
    return out;
  }

  /** A chunk waiting, with its text as the policies left it. */
  private static final class Held {
    final StreamChunk original;
    final StringBuilder text;
    boolean changed;

    Held(StreamChunk original) {
      this.original = original;
      this.text = new StringBuilder(original.text());
    }

    /** The upstream's bytes when nothing changed; else its JSON with the new content. */
    StreamChunk chunk() {
      if (!changed) {
        return original;
      }
      JsonObject json = new JsonObject(original.json());
      JsonArray choices = json.getJsonArray("choices");
      if (choices != null && !choices.isEmpty() && choices.getValue(0) instanceof JsonObject choice
        && choice.getValue("delta") instanceof JsonObject delta) {
        delta.put("content", text.toString());
      }
      return new StreamChunk(original.requestId(), original.seq(), StreamChunk.event(json.toBuffer()),
        text.toString(), original.flags(), original.deployment(), null);
    }
  }
}
