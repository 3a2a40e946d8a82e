package io.switchboard.im;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.util.Base64;
import java.util.Locale;

/**
 * An image fetched from a platform, ready for the model as an OpenAI content part with a {@code data:} URL. Only
 * the formats OpenAI's vision input takes (JPEG, PNG, GIF, WebP), told by the bytes themselves: a platform's
 * content type may be generic (DingTalk's download links serve files without one of their own kind).
 */
record InlineImage(String mime, Buffer bytes) {

  /**
   * The image a platform served. @param call the download, for the message of a refusal
   * @throws ImageUnavailable when the body is not an image, or not one of the formats the model takes
   */
  static InlineImage of(String call, String contentType, Buffer bytes) {
    String declared = contentType == null ? "" : contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    if (!declared.isEmpty() && !declared.startsWith("image/") && !declared.equals("application/octet-stream")
      && !declared.equals("binary/octet-stream")) {
      throw ImageUnavailable.notAnImage(call + " served " + declared + ", not an image");
    }
    String sniffed = sniff(bytes);
    if (sniffed == null) {
      throw ImageUnavailable.notAnImage(call + " served " + bytes.length() + " bytes of "
        + (declared.isEmpty() ? "no declared type" : declared) + " that are not JPEG, PNG, GIF or WebP");
    }
    return new InlineImage(sniffed, bytes);
  }

  /** The format by its magic bytes; null when it is none the model takes. */
  static String sniff(Buffer bytes) {
    if (starts(bytes, 0, 0xFF, 0xD8, 0xFF)) {
      return "image/jpeg";
    }
    if (starts(bytes, 0, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
      return "image/png";
    }
    if (starts(bytes, 0, 'G', 'I', 'F', '8') && bytes.length() > 5 && (bytes.getByte(4) == '7'
      || bytes.getByte(4) == '9') && bytes.getByte(5) == 'a') {
      return "image/gif";
    }
    if (starts(bytes, 0, 'R', 'I', 'F', 'F') && starts(bytes, 8, 'W', 'E', 'B', 'P')) {
      return "image/webp";
    }
    return null;
  }

  private static boolean starts(Buffer bytes, int at, int... expected) {
    if (bytes.length() < at + expected.length) {
      return false;
    }
    for (int i = 0; i < expected.length; i++) {
      if ((bytes.getByte(at + i) & 0xFF) != expected[i]) {
        return false;
      }
    }
    return true;
  }

  /** {@code {"type":"image_url","image_url":{"url":"data:<mime>;base64,<data>"}}} */
  JsonObject part() {
    return new JsonObject().put("type", "image_url").put("image_url", new JsonObject()
      .put("url", "data:" + mime + ";base64," + Base64.getEncoder().encodeToString(bytes.getBytes())));
  }

  @Override
  public String toString() {
    return "InlineImage[" + mime + ", " + bytes.length() + " bytes]";
  }
}
