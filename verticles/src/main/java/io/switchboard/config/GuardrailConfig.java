package io.switchboard.config;

import io.switchboard.config.SwitchboardConfig.Guardrail;
import io.switchboard.config.SwitchboardConfig.PiiPattern;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads {@code guardrails:} (the policies) and checks that every {@code routes[].guardrails} and
 * {@code tenants[].guardrails} names one. Word files are read here, relative to the config file, so a missing file
 * stops the node at start-up with the setting that names it.
 */
final class GuardrailConfig {
  /** The built-in PII detectors a pii policy may list. */
  static final Set<String> DETECTORS = Set.of("cn_mobile", "cn_id_card", "email", "bank_card", "ipv4", "ipv6");
  private static final int DEFAULT_WINDOW = 64;

  private GuardrailConfig() {
  }

  static SwitchboardConfig.Guardrails load(ConfigNode root, Path baseDir, Map<String, List<String>> byTenant,
                                           Map<String, SwitchboardConfig.Route> routes) {
    Map<String, Guardrail> policies = new LinkedHashMap<>();
    for (ConfigNode entry : root.children("guardrails")) {
      Guardrail policy = policy(entry, baseDir);
      if (policies.put(policy.name(), policy) != null) {
        throw entry.error("name", "'" + policy.name() + "' is listed twice");
      }
    }
    for (ConfigNode entry : root.children("routes")) {
      check(entry, policies, entry.strings("guardrails", List.of()));
    }
    for (ConfigNode entry : root.children("tenants")) {
      check(entry, policies, entry.strings("guardrails", List.of()));
    }
    Map<String, List<String>> tenants = new LinkedHashMap<>();
    byTenant.forEach((tenant, names) -> {
      if (!names.isEmpty()) {
        tenants.put(tenant, names);
      }
    });
    return new SwitchboardConfig.Guardrails(List.copyOf(policies.values()), tenants);
  }

  private static void check(ConfigNode entry, Map<String, Guardrail> policies, List<String> names) {
    for (String name : names) {
      if (!policies.containsKey(name)) {
        throw entry.error("guardrails", "names '" + name + "', which is not a policy under guardrails: (known: "
          + String.join(", ", policies.keySet()) + ")");
      }
    }
  }

  private static Guardrail policy(ConfigNode entry, Path baseDir) {
    String name = entry.requiredString("name");
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}")) {
      throw entry.error("name", "must be 1-64 letters, digits, '.', '_' or '-' (it is a metric tag)");
    }
    String type = entry.oneOf("type", null, Guardrail.TYPES);
    if (type == null) {
      throw entry.error("type", "is required (words, pii or moderation)");
    }
    Set<String> on = new LinkedHashSet<>(entry.strings("on", List.of("input")));
    if (on.isEmpty() || !Guardrail.STAGES.containsAll(on)) {
      throw entry.error("on", "must list input, output or both (got " + on + ")");
    }
    String action = entry.oneOf("action", "block", Guardrail.ACTIONS);
    List<String> words = List.of();
    List<String> detectors = List.of();
    List<PiiPattern> patterns = new ArrayList<>();
    String model = null;
    String url = null;
    switch (type) {
      case "words" -> {
        words = words(entry, baseDir);
        if (words.isEmpty()) {
          throw entry.error("words_file", "a words policy needs words: a words_file (one a line) or words: [...]");
        }
      }
      case "pii" -> {
        detectors = entry.strings("detectors", List.of());
        for (String detector : detectors) {
          if (!DETECTORS.contains(detector)) {
            throw entry.error("detectors", "names an unknown detector '" + detector + "' (known: "
              + String.join(", ", new java.util.TreeSet<>(DETECTORS)) + ")");
          }
        }
        for (ConfigNode pattern : entry.children("patterns")) {
          patterns.add(pattern(pattern));
        }
        if (detectors.isEmpty() && patterns.isEmpty()) {
          throw entry.error("detectors", "a pii policy needs detectors: [...] or patterns: [...]");
        }
      }
      default -> {
        model = entry.string("model", null);
        url = entry.string("url", null);
        if ((model == null) == (url == null)) {
          throw entry.error("model", "a moderation policy needs either model (routed through the gateway) or url "
            + "(an operator's endpoint), not both");
        }
        if (url != null && !url.matches("https?://.+")) {
          throw entry.error("url", "must be an http:// or https:// URL");
        }
        if (action.equals("redact")) {
          throw entry.error("action", "a moderation policy can block or flag; it has nothing to redact");
        }
      }
    }
    var policy = new Guardrail(name, type, on, action, words, detectors, patterns,
      type.equals("words") ? entry.string("placeholder", "***") : null, model, url,
      type.equals("moderation") ? entry.number("timeout_ms", 2_000, 10, 600_000) : 0,
      type.equals("moderation") ? entry.oneOf("on_error", "allow", Guardrail.ON_ERROR) : null,
      type.equals("moderation") ? 0 : entry.integer("window_chars", type.equals("words")
        ? Math.max(1, words.stream().mapToInt(String::length).max().orElse(1)) : DEFAULT_WINDOW, 1, 4_096));
    int longest = words.stream().mapToInt(String::length).max().orElse(0);
    if (policy.windowChars() < longest) {
      throw entry.error("window_chars", "is " + policy.windowChars() + ", shorter than the longest word (" + longest
        + " characters): a word split across streamed chunks could slip through");
    }
    entry.rejectUnknownKeys();
    return policy;
  }

  private static PiiPattern pattern(ConfigNode node) {
    String name = node.requiredString("name");
    String regex = node.requiredString("regex");
    try {
      Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      throw node.error("regex", "is not a valid Java regex (" + e.getDescription() + ")");
    }
    var pattern = new PiiPattern(name, regex, node.string("placeholder", "[" + name.toUpperCase(java.util.Locale.ROOT)
      + "]"));
    node.rejectUnknownKeys();
    return pattern;
  }

  /** The words file's lines (blank lines and lines starting with # skipped) and the inline words. */
  private static List<String> words(ConfigNode entry, Path baseDir) {
    Set<String> words = new LinkedHashSet<>(entry.strings("words", List.of()));
    String file = entry.string("words_file", null);
    if (file != null) {
      Path path = baseDir.resolve(file);
      try {
        for (String line : Files.readAllLines(path, StandardCharsets.UTF_8)) {
          String word = line.strip();
          if (!word.isEmpty() && !word.startsWith("#")) {
            words.add(word);
          }
        }
      } catch (IOException e) {
        throw entry.error("words_file", "cannot be read: " + path + " (" + e.getClass().getSimpleName() + ")");
      }
    }
    words.removeIf(String::isBlank);
    return List.copyOf(words);
  }
}
