package io.switchboard.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code guardrails:} as an operator writes it, and the mistakes that must stop the node with a clear message. */
class GuardrailConfigTest {
  private static final String MODELS = """
    model_list:
      - {model_name: gpt-4o, provider: simulator}
    """;

  @Test
  void a_words_file_is_read_relative_to_the_config_file_and_policies_attach_to_routes_and_tenants(@TempDir Path dir)
    throws Exception {
    Files.writeString(dir.resolve("words.txt"), "# comment\n\n敏感词\nBadWord\n", StandardCharsets.UTF_8);
    SwitchboardConfig config = ConfigLoader.parse(dir.resolve("switchboard.yaml").toString(), MODELS + """
      guardrails:
        - {name: cn-words, type: words, words_file: words.txt, on: [input, output], action: block}
        - {name: pii, type: pii, detectors: [cn_mobile, cn_id_card, email, bank_card], action: redact}
      routes:
        - {model_name: gpt-4o, guardrails: [cn-words, pii]}
      tenants:
        - {name: acme, guardrails: [pii]}
      """, Map.of());
    SwitchboardConfig.Guardrail words = config.guardrails().policies().get(0);
    assertEquals(List.of("敏感词", "BadWord"), words.words());
    assertEquals(Set.of("input", "output"), words.on());
    assertEquals(7, words.windowChars(), "the longest word");
    SwitchboardConfig.Guardrail pii = config.guardrails().policies().get(1);
    assertEquals(Set.of("input"), pii.on(), "input by default");
    assertEquals(64, pii.windowChars());
    assertEquals(List.of("cn-words", "pii"), config.route("gpt-4o").guardrails());
    assertEquals(Map.of("acme", List.of("pii")), config.guardrails().byTenant());
  }

  private static String refused(String yaml) {
    return assertThrows(ConfigException.class, () -> ConfigLoader.parse("test.yaml", MODELS + yaml, Map.of()))
      .getMessage();
  }

  @Test
  void mistakes_are_named() {
    assertTrue(refused("""
      routes:
        - {model_name: gpt-4o, guardrails: [nope]}
      """).contains("'nope'"));
    assertTrue(refused("""
      guardrails:
        - {name: w, type: words, words_file: /does/not/exist.txt}
      """).contains("words_file"));
    assertTrue(refused("""
      guardrails:
        - {name: p, type: pii, detectors: [passport]}
      """).contains("passport"));
    assertTrue(refused("""
      guardrails:
        - {name: p, type: pii, patterns: [{name: x, regex: "([a-z"}]}
      """).contains("regex"));
    assertTrue(refused("""
      guardrails:
        - {name: m, type: moderation, model: x, action: redact}
      """).contains("nothing to redact"));
    assertTrue(refused("""
      guardrails:
        - {name: w, type: words, words: [a], acton: block}
      """).contains("acton"));
    assertTrue(refused("""
      guardrails:
        - {name: w, type: words, words: [abcdef], window_chars: 3}
      """).contains("longest word"));
    assertTrue(refused("""
      guardrails:
        - {name: m, type: moderation, model: x, window_chars: 3}
      """).contains("window_chars"));
  }
}
