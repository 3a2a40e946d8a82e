package io.switchboard.guardrails;

import io.switchboard.config.SwitchboardConfig.PiiPattern;

import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One kind of personal data: a regex over normalized text (so full-width digits count) and, where the format has
 * one, the check a real number passes (an ID card's GB 11643 check digit, a bank card's Luhn sum), which keeps
 * random digit runs from being taken for one.
 */
final class PiiDetector implements Detector {
  private static final String NOT_DIGIT_BEFORE = "(?<![0-9])";
  private static final String NOT_DIGIT_AFTER = "(?![0-9])";
  private static final int[] ID_WEIGHTS = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  private static final String ID_CHECK = "10x98765432";
  private static final String OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

  private final Pattern pattern;
  private final Predicate<String> valid;
  private final String placeholder;

  private PiiDetector(Pattern pattern, Predicate<String> valid, String placeholder) {
    this.pattern = pattern;
    this.valid = valid;
    this.placeholder = placeholder;
  }

  /** A built-in detector by its config name. */
  static PiiDetector builtIn(String name) {
    return switch (name) {
      case "cn_mobile" -> new PiiDetector(Pattern.compile(NOT_DIGIT_BEFORE
        + "(?:\\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}" + NOT_DIGIT_AFTER), m -> true, "[PHONE]");
      case "cn_id_card" -> new PiiDetector(Pattern.compile(NOT_DIGIT_BEFORE
        + "[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9x](?![0-9x])"),
        PiiDetector::idChecksum, "[ID_CARD]");
      case "email" -> new PiiDetector(Pattern.compile(
        "(?<![a-z0-9._%+-])[a-z0-9._%+-]+@[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.[a-z]{2,}(?![a-z0-9-])"), m -> true,
        "[EMAIL]");
      case "bank_card" -> new PiiDetector(Pattern.compile(NOT_DIGIT_BEFORE + "[0-9](?:[ -]?[0-9]){12,18}"
        + NOT_DIGIT_AFTER), PiiDetector::luhn, "[BANK_CARD]");
      case "ipv4" -> new PiiDetector(Pattern.compile("(?<![0-9.])" + OCTET + "(?:\\." + OCTET + "){3}"
        + "(?![0-9])(?!\\.[0-9])"), m -> true, "[IP]");
      case "ipv6" -> new PiiDetector(Pattern.compile("(?<![0-9a-z:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}"
        + "(?![0-9a-z:])"), PiiDetector::ipv6, "[IP]");
      default -> throw new IllegalArgumentException("unknown PII detector " + name);
    };
  }

  /** An operator's regex, matched case-insensitively on the normalized text. */
  static PiiDetector of(PiiPattern pattern) {
    return new PiiDetector(Pattern.compile(pattern.regex(), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE),
      m -> true, pattern.placeholder());
  }

  @Override
  public void find(NormalizedText text, List<Hit> hits) {
    Matcher matcher = pattern.matcher(text.text());
    while (matcher.find()) {
      if (matcher.end() > matcher.start() && valid.test(matcher.group())) {
        hits.add(new Hit(matcher.start(), matcher.end(), placeholder));
      }
    }
  }

  @Override
  public boolean finalAtEnd() {
    return false;
  }

  /** GB 11643-1999: the 18th character is the weighted sum of the first 17 digits mod 11, looked up. */
  static boolean idChecksum(String id) {
    int sum = 0;
    for (int i = 0; i < 17; i++) {
      sum += (id.charAt(i) - '0') * ID_WEIGHTS[i];
    }
    return ID_CHECK.charAt(sum % 11) == id.charAt(17);
  }

  /** The Luhn sum of a card number's digits (separators skipped). */
  static boolean luhn(String number) {
    int sum = 0;
    boolean twice = false;
    for (int i = number.length() - 1; i >= 0; i--) {
      char c = number.charAt(i);
      if (c < '0' || c > '9') {
        continue;
      }
      int digit = c - '0';
      if (twice) {
        digit *= 2;
        if (digit > 9) {
          digit -= 9;
        }
      }
      sum += digit;
      twice = !twice;
    }
    return sum % 10 == 0;
  }

  /**
   * Eight groups of 1-4 hex digits, or fewer with one {@code ::} standing for the rest and a digit somewhere (not a
   * clock's 12:30:45, not {@code dead::beef}).
   */
  static boolean ipv6(String candidate) {
    int gap = candidate.indexOf("::");
    if (gap >= 0 && candidate.indexOf("::", gap + 1) >= 0) {
      return false;
    }
    String rest = gap < 0 ? candidate : candidate.substring(0, gap) + ":" + candidate.substring(gap + 2);
    int filled = 0;
    for (String group : rest.split(":", -1)) {
      if (group.isEmpty()) {
        if (gap < 0 || !(rest.startsWith(":") || rest.endsWith(":"))) {
          return false;
        }
      } else {
        filled++;
      }
    }
    return gap < 0 ? filled == 8 : filled < 8 && candidate.chars().anyMatch(Character::isDigit);
  }
}
