package io.switchboard.json;

/** JSON string quoting for the hot path, where building a JsonObject per chunk would cost more. */
public final class JsonText {
  private static final char[] HEX = "0123456789abcdef".toCharArray();
  /** {@code application/json} as a header value made once (an ASCII string: Vert.x copies its bytes as they are). */
  public static final CharSequence MEDIA_TYPE = io.vertx.core.http.HttpHeaders.createOptimized("application/json");

  private JsonText() {
  }

  public static String quote(String value) {
    StringBuilder out = new StringBuilder(value.length() + 8);
    appendQuoted(out, value);
    return out.toString();
  }

  public static void appendQuoted(StringBuilder out, String value) {
    out.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append("\\u00").append(HEX[(c >> 4) & 0xF]).append(HEX[c & 0xF]);
          } else if (c == '\u2028' || c == '\u2029') {
            out.append(c == '\u2028' ? "\\u2028" : "\\u2029");
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
