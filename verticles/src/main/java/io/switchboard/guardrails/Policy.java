package io.switchboard.guardrails;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.config.SwitchboardConfig.Guardrail;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** One configured guardrail, ready to run: its detectors built once, its decision counters registered once. */
final class Policy {
  static final String ERROR_ALLOWED = "error_allowed";
  static final String ERROR_BLOCKED = "error_blocked";

  final Guardrail config;
  private final List<Detector> detectors = new ArrayList<>();
  private final Map<String, Counter> decisions = new HashMap<>();

  Policy(Guardrail config, MeterRegistry registry) {
    this.config = config;
    switch (config.type()) {
      case "words" -> detectors.add(new WordDetector(config.words(), config.placeholder()));
      case "pii" -> {
        config.detectors().forEach(name -> detectors.add(PiiDetector.builtIn(name)));
        config.patterns().forEach(pattern -> detectors.add(PiiDetector.of(pattern)));
      }
      default -> {
        // moderation: a call, see Moderator
      }
    }
    for (String stage : config.on()) {
      for (String action : List.of(config.action(), ERROR_ALLOWED, ERROR_BLOCKED)) {
        decisions.put(stage + ' ' + action, Counter.builder("switchboard.guardrails.decisions")
          .description("Guardrail decisions: a check that matched (block, redact, flag) or whose call failed")
          .tags("policy", config.name(), "action", action, "stage", stage).register(registry));
      }
    }
  }

  String name() {
    return config.name();
  }

  boolean moderation() {
    return config.type().equals("moderation");
  }

  boolean blocks() {
    return config.action().equals("block");
  }

  boolean redacts() {
    return config.action().equals("redact");
  }

  void count(String stage, String action) {
    decisions.get(stage + ' ' + action).increment();
  }

  /**
   * What the policy finds in the text, sorted and without overlaps (an overlap joins its neighbours). With
   * {@code complete} false the text may go on (a stream): a hit that could still grow at its end is left for later.
   */
  List<Detector.Hit> hits(NormalizedText text, boolean complete) {
    List<Detector.Hit> found = new ArrayList<>(0);
    for (Detector detector : detectors) {
      int before = found.size();
      detector.find(text, found);
      if (!complete && !detector.finalAtEnd()) {
        for (int i = found.size() - 1; i >= before; i--) {
          if (found.get(i).end() == text.length()) {
            found.remove(i);
          }
        }
      }
    }
    if (found.size() < 2) {
      return found;
    }
    found.sort((a, b) -> a.start() != b.start() ? Integer.compare(a.start(), b.start()) : Integer.compare(b.end(), a.end()));
    List<Detector.Hit> merged = new ArrayList<>(found.size());
    Detector.Hit last = null;
    for (Detector.Hit hit : found) {
      if (last != null && hit.start() < last.end()) {
        last = new Detector.Hit(last.start(), Math.max(last.end(), hit.end()), last.placeholder());
        merged.set(merged.size() - 1, last);
      } else {
        merged.add(hit);
        last = hit;
      }
    }
    return merged;
  }

  /** The text with each hit replaced by its placeholder, in the original's coordinates. */
  static String redacted(String original, NormalizedText text, List<Detector.Hit> hits) {
    StringBuilder out = new StringBuilder(original.length());
    int at = 0;
    for (Detector.Hit hit : hits) {
      int start = text.originalStart(hit.start());
      int end = text.originalEnd(hit.end());
      if (start < at) {
        continue;
      }
      out.append(original, at, start).append(hit.placeholder());
      at = end;
    }
    return out.append(original, at, original.length()).toString();
  }
}
