package io.switchboard.im;

import io.vertx.core.buffer.Buffer;

import java.util.Locale;

/**
 * A voice message's audio fetched from a platform, ready for {@code /v1/audio/transcriptions}: the bytes as served and
 * a file name whose extension says the format, told by the bytes themselves (WeCom serves AMR, Feishu Ogg Opus,
 * DingTalk its links' own kind, often without a telling content type).
 */
record VoiceClip(String fileName, String contentType, Buffer bytes) {

  /** The audio a platform served. @throws ImageUnavailable (not an image: here, not audio) when it is none */
  static VoiceClip of(String call, String contentType, Buffer bytes) {
    String extension = sniff(bytes);
    if (extension == null) {
      String declared = contentType == null ? "" : contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
      throw ImageUnavailable.notAnImage(call + " served " + bytes.length() + " bytes of "
        + (declared.isEmpty() ? "no declared type" : declared) + " that are not audio the bot knows");
    }
    return new VoiceClip("voice." + extension, switch (extension) {
      case "amr" -> "audio/amr";
      case "ogg" -> "audio/ogg";
      case "wav" -> "audio/wav";
      case "mp3" -> "audio/mpeg";
      case "flac" -> "audio/flac";
      default -> "audio/mp4";
    }, bytes);
  }

  /** The format's usual extension by its magic bytes; null when it is none the bot knows. */
  static String sniff(Buffer bytes) {
    if (starts(bytes, 0, "#!AMR")) {
      return "amr";
    }
    if (starts(bytes, 0, "OggS")) {
      return "ogg";
    }
    if (starts(bytes, 0, "RIFF") && starts(bytes, 8, "WAVE")) {
      return "wav";
    }
    if (starts(bytes, 0, "fLaC")) {
      return "flac";
    }
    if (starts(bytes, 4, "ftyp")) {
      return "m4a";
    }
    if (starts(bytes, 0, "ID3") || bytes.length() > 1 && (bytes.getByte(0) & 0xFF) == 0xFF
      && (bytes.getByte(1) & 0xE0) == 0xE0) {
      return "mp3";
    }
    return null;
  }

  private static boolean starts(Buffer bytes, int at, String magic) {
    if (bytes.length() < at + magic.length()) {
      return false;
    }
    for (int i = 0; i < magic.length(); i++) {
      if (bytes.getByte(at + i) != magic.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return "VoiceClip[" + fileName + ", " + bytes.length() + " bytes]";
  }
}
