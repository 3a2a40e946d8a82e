package io.switchboard.guardrails;

import java.text.Normalizer;
import java.util.Locale;

/**
 * Text as the detectors read it: each code point NFKC-normalized (full-width letters and digits become their
 * ASCII forms, compatibility characters their plain ones) and lower-cased, with where each character came from,
 * so a match found here is redacted in the original. Words are normalized the same way, one code point at a time,
 * so both sides agree even where whole-string NFKC would compose across characters.
 */
final class NormalizedText {
  private final String text;
  /** For each normalized character, the original's index where its code point starts, and where the next does. */
  private final int[] from;
  private final int[] to;

  private NormalizedText(String text, int[] from, int[] to) {
    this.text = text;
    this.from = from;
    this.to = to;
  }

  static NormalizedText of(CharSequence original) {
    int length = original.length();
    StringBuilder out = new StringBuilder(length);
    int[] from = new int[length + 8];
    int[] to = new int[length + 8];
    int i = 0;
    while (i < length) {
      int cp = Character.codePointAt(original, i);
      int next = i + Character.charCount(cp);
      int before = out.length();
      append(out, cp);
      int added = out.length() - before;
      if (before + added > from.length) {
        int size = Math.max(from.length * 2, before + added);
        from = java.util.Arrays.copyOf(from, size);
        to = java.util.Arrays.copyOf(to, size);
      }
      for (int k = before; k < before + added; k++) {
        from[k] = i;
        to[k] = next;
      }
      i = next;
    }
    return new NormalizedText(out.toString(), from, to);
  }

  /** A word as the automaton holds it. */
  static String word(String word) {
    return of(word).text;
  }

  /** The common cases without the normalizer: ASCII, full-width ASCII, CJK ideographs; else NFKC then lower case. */
  private static void append(StringBuilder out, int cp) {
    if (cp < 0x80) {
      out.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
    } else if (cp >= 0xFF01 && cp <= 0xFF5E) {
      int ascii = cp - 0xFEE0;
      out.append((char) (ascii >= 'A' && ascii <= 'Z' ? ascii + 32 : ascii));
    } else if (cp == 0x3000) {
      out.append(' ');
    } else if (cp >= 0x4E00 && cp <= 0x9FFF) {
      out.append((char) cp);
    } else {
      out.append(Normalizer.normalize(new String(Character.toChars(cp)), Normalizer.Form.NFKC).toLowerCase(Locale.ROOT));
    }
  }

  String text() {
    return text;
  }

  int length() {
    return text.length();
  }

  /** Where the normalized range [start, end) lies in the original. */
  int originalStart(int start) {
    return from[start];
  }

  int originalEnd(int end) {
    return to[end - 1];
  }
}
