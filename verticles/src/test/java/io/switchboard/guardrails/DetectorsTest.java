package io.switchboard.guardrails;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.switchboard.config.SwitchboardConfig.Guardrail;
import io.switchboard.config.SwitchboardConfig.PiiPattern;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each detector on its own: what it must find, what it must leave alone, whatever the width or case. */
class DetectorsTest {
  static Policy policy(String type, String action, List<String> words, List<String> detectors,
                       List<PiiPattern> patterns, int window) {
    return new Policy(new Guardrail("p-" + type, type, Set.of("input", "output"), action, words, detectors, patterns,
      "***", null, null, 0, null, window), new SimpleMeterRegistry());
  }

  static Policy words(String action, String... words) {
    return policy("words", action, List.of(words), List.of(), List.of(),
      List.of(words).stream().mapToInt(String::length).max().orElse(1));
  }

  static Policy pii(String action, String... detectors) {
    return policy("pii", action, List.of(), List.of(detectors), List.of(), 64);
  }

  private static String redact(Policy policy, String text) {
    return Guardrails.text(text, List.of(policy), new Guardrails.Decisions("t", "input"));
  }

  private static boolean blocks(Policy policy, String text) {
    try {
      Guardrails.text(text, List.of(policy), new Guardrails.Decisions("t", "input"));
      return false;
    } catch (Guardrails.Blocked blocked) {
      assertEquals(policy.name(), blocked.policy);
      return true;
    }
  }

  @Test
  void wordsAreFoundInChineseAndEnglishWhateverTheirWidthOrCase() {
    Policy list = words("block", "forbidden", "敏感词", "Ｂａｄ Ｗｏｒｄ");
    assertTrue(blocks(list, "this is FORBIDDEN text"));
    assertTrue(blocks(list, "full width ｆｏｒｂｉｄｄｅｎ here"));
    assertTrue(blocks(list, "这是一个敏感词测试"));
    assertTrue(blocks(list, "a bad word, half width"));
    assertTrue(blocks(list, "a BAD WORD in capitals"));
    assertFalse(blocks(list, "forbid den, 敏感 词, badword"));
    assertFalse(blocks(list, "nothing to see"));
  }

  @Test
  void aRedactedWordKeepsTheRestOfTheTextAsItWas() {
    assertEquals("Say *** and ＭＯＲＥ ***!", redact(words("redact", "secret"), "Say ＳＥＣＲＥＴ and ＭＯＲＥ Secret!"));
  }

  @Test
  void mainlandMobileNumbers() {
    Policy phone = pii("redact", "cn_mobile");
    assertEquals("call [PHONE] now", redact(phone, "call 13800138000 now"));
    assertEquals("call [PHONE] now", redact(phone, "call +86 138-0013-8000 now"));
    assertEquals("full [PHONE]", redact(phone, "full １３８００１３８０００"));
    assertEquals("order 12345678901", redact(phone, "order 12345678901"), "no mobile prefix 12");
    assertEquals("id 1380013800012", redact(phone, "id 1380013800012"), "part of a longer number");
  }

  @Test
  void idCardNumbersNeedTheirGb11643CheckDigit() {
    Policy id = pii("redact", "cn_id_card");
    assertEquals("ID [ID_CARD].", redact(id, "ID 11010519491231002X."));
    assertEquals("ID [ID_CARD].", redact(id, "ID 11010519491231002x."));
    assertEquals("ID 110105194912310021.", redact(id, "ID 110105194912310021."), "wrong check digit");
    assertEquals("ID 110105194913310024.", redact(id, "ID 110105194913310024."), "month 13");
  }

  @Test
  void emails() {
    Policy email = pii("redact", "email");
    assertEquals("mail [EMAIL], please", redact(email, "mail Zhang.San+cn@Example.COM.cn, please"));
    assertEquals("a@b and @home", redact(email, "a@b and @home"));
  }

  @Test
  void bankCardsNeedTheirLuhnSum() {
    Policy card = pii("redact", "bank_card");
    assertEquals("card [BANK_CARD]", redact(card, "card 4111 1111 1111 1111"));
    assertEquals("card [BANK_CARD]", redact(card, "card 6222020200112233445".substring(0, 5)
      + luhnCompleted("622202020011223344")));
    assertEquals("card 4111111111111112", redact(card, "card 4111111111111112"));
    assertEquals("short 411111111111", redact(card, "short 411111111111"));
  }

  private static String luhnCompleted(String digits) {
    for (int d = 0; d <= 9; d++) {
      if (PiiDetector.luhn(digits + d)) {
        return digits + d;
      }
    }
    throw new AssertionError();
  }

  @Test
  void ipAddresses() {
    Policy ip = pii("redact", "ipv4", "ipv6");
    assertEquals("from [IP] and [IP].", redact(ip, "from 192.168.1.20 and 2001:db8::8a2e:370:7334."));
    assertEquals("[IP] loopback", redact(ip, "::1 loopback"));
    assertEquals("v1.2.3.4.5, 999.1.1.1, at 12:30:45, std::vector, dead::beef",
      redact(ip, "v1.2.3.4.5, 999.1.1.1, at 12:30:45, std::vector, dead::beef"));
  }

  @Test
  void operatorPatterns() {
    Policy own = policy("pii", "redact", List.of(), List.of(),
      List.of(new PiiPattern("employee", "EMP-[0-9]{6}", "[EMPLOYEE]")), 64);
    assertEquals("ask [EMPLOYEE]", redact(own, "ask emp-123456"));
    assertEquals("ask EMP-12345", redact(own, "ask EMP-12345"));
  }

  @Test
  void flagChangesNothing() {
    assertEquals("a secret", redact(words("flag", "secret"), "a secret"));
    assertThrows(Guardrails.Blocked.class, () -> Guardrails.text("x secret", List.of(words("block", "secret")),
      new Guardrails.Decisions("t", "input")));
  }
}
