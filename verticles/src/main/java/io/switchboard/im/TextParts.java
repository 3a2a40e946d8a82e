package io.switchboard.im;

import java.util.ArrayList;
import java.util.List;

/**
 * An answer cut into messages no longer than a platform takes. The parts put back together are the answer exactly;
 * a cut falls after a line break, else after a space, when one is in the second half of a part, and never inside a
 * character (UTF-16 surrogate pairs stay whole).
 */
final class TextParts {
  /** How a platform counts a message's length. */
  enum Measure {
    UTF8_BYTES, CODE_POINTS;

    int of(int codePoint) {
      if (this == CODE_POINTS) {
        return 1;
      }
      return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
    }
  }

  private TextParts() {
  }

  static List<String> split(String text, int limit, Measure measure) {
    if (limit < 4) {
      throw new IllegalArgumentException("limit must be at least 4");
    }
    List<String> parts = new ArrayList<>();
    int start = 0;
    while (start < text.length()) {
      int end = start;
      int used = 0;
      int lineBreak = -1;
      int space = -1;
      while (end < text.length()) {
        int codePoint = text.codePointAt(end);
        int size = measure.of(codePoint);
        if (used + size > limit) {
          break;
        }
        used += size;
        end += Character.charCount(codePoint);
        if (used * 2 >= limit) {
          if (codePoint == '\n') {
            lineBreak = end;
          } else if (Character.isWhitespace(codePoint)) {
            space = end;
          }
        }
      }
      if (end < text.length()) {
        end = lineBreak > 0 ? lineBreak : space > 0 ? space : end;
      }
      parts.add(text.substring(start, end));
      start = end;
    }
    return parts;
  }
}
