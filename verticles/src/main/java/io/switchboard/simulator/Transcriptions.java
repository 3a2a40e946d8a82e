package io.switchboard.simulator;

import io.switchboard.json.JsonText;
import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.switchboard.simulator.SimulatorError.invalidValue;

/**
 * {@code POST /v1/audio/transcriptions}: a deterministic transcript of the uploaded audio. The words are those the
 * file carries after a {@value #MARKER} marker (up to a NUL, CR or LF: tests and demos write what is "said" into the
 * file), else words of the simulator's vocabulary chosen by a hash of the bytes, about two and a half a second. The
 * duration is a WAV's own (its header's byte rate); for other formats it is taken from the word count. The file
 * name's extension must be one OpenAI takes (and {@code amr}, which self-hosted Whisper servers decode with ffmpeg
 * and WeCom's voice messages are); response formats are OpenAI's five.
 */
final class Transcriptions {
  static final String MODEL = "switchboard-simulator-whisper";
  static final String MARKER = "switchboard-transcript:";
  static final List<String> FORMATS = List.of("json", "text", "srt", "verbose_json", "vtt");
  private static final List<String> EXTENSIONS = List.of("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg",
    "wav", "webm", "amr");
  private static final double WORDS_PER_SECOND = 2.5;

  /** What the simulator answers: a content type and the body. */
  record Reply(String contentType, String body) {
  }

  private Transcriptions() {
  }

  /**
   * @param fields the form's fields but the file (first value of each name)
   * @throws SimulatorError for what OpenAI refuses: no file, a format it does not take, a bad response_format
   */
  static Reply respond(Map<String, String> fields, String fileName, Buffer file) {
    if (file == null) {
      throw new SimulatorError("1 validation error for Request\nbody -> file\n  field required", null, null);
    }
    if (!fields.containsKey("model")) {
      throw new SimulatorError("1 validation error for Request\nbody -> model\n  field required", null, null);
    }
    String name = fileName == null ? "" : fileName.toLowerCase(Locale.ROOT);
    String extension = name.contains(".") ? name.substring(name.lastIndexOf('.') + 1) : "";
    if (!EXTENSIONS.contains(extension)) {
      throw new SimulatorError("Invalid file format. Supported formats: " + EXTENSIONS, null, null);
    }
    String format = fields.getOrDefault("response_format", "json");
    if (!FORMATS.contains(format)) {
      throw invalidValue("response_format", format, FORMATS);
    }
    String language = fields.getOrDefault("language", "en");
    String text = said(file);
    int words = text.isEmpty() ? 0 : text.split(" ").length;
    double wav = wavSeconds(file);
    double seconds = wav >= 0 ? wav : Math.max(1, words) / WORDS_PER_SECOND;
    long billed = (long) Math.ceil(seconds);
    String end = String.valueOf(Math.round(seconds * 100) / 100.0);
    return switch (format) {
      case "text" -> new Reply("text/plain; charset=utf-8", text + "\n");
      case "srt" -> new Reply("text/plain; charset=utf-8", "1\n00:00:00,000 --> " + timestamp(seconds, ',') + "\n"
        + text + "\n\n");
      case "vtt" -> new Reply("text/plain; charset=utf-8", "WEBVTT\n\n00:00:00.000 --> " + timestamp(seconds, '.')
        + "\n" + text + "\n\n");
      case "verbose_json" -> {
        StringBuilder out = new StringBuilder("{\"task\":\"transcribe\",\"language\":");
        JsonText.appendQuoted(out, language);
        out.append(",\"duration\":").append(end).append(",\"text\":");
        JsonText.appendQuoted(out, text);
        out.append(",\"segments\":[{\"id\":0,\"seek\":0,\"start\":0.0,\"end\":").append(end).append(",\"text\":");
        JsonText.appendQuoted(out, " " + text);
        out.append(",\"tokens\":[],\"temperature\":0.0,\"avg_logprob\":-0.25,\"compression_ratio\":1.0,"
          + "\"no_speech_prob\":0.01}],\"usage\":{\"type\":\"duration\",\"seconds\":").append(billed).append("}}");
        yield new Reply("application/json", out.toString());
      }
      default -> {
        StringBuilder out = new StringBuilder("{\"text\":");
        JsonText.appendQuoted(out, text);
        yield new Reply("application/json", out.append(",\"usage\":{\"type\":\"duration\",\"seconds\":")
          .append(billed).append("}}").toString());
      }
    };
  }

  /** What the audio "says": the marked text in the file, or hashed words, one per 0.4 s of a WAV (at least one). */
  static String said(Buffer file) {
    byte[] bytes = file.getBytes();
    int at = indexOf(bytes, MARKER.getBytes(StandardCharsets.US_ASCII));
    if (at >= 0) {
      int from = at + MARKER.length();
      int to = from;
      while (to < bytes.length && bytes[to] != 0 && bytes[to] != '\n' && bytes[to] != '\r') {
        to++;
      }
      return new String(bytes, from, to - from, StandardCharsets.UTF_8).strip();
    }
    double wav = wavSeconds(file);
    int count = (int) Math.max(1, Math.min(200, Math.round((wav >= 0 ? wav : bytes.length / 2_000.0)
      * WORDS_PER_SECOND)));
    long h = 0xcbf29ce484222325L;
    for (byte b : bytes) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < count; i++) {
      h += 0x9e3779b97f4a7c15L;
      text.append(i == 0 ? "" : " ").append(Tokens.WORDS[(int) Long.remainderUnsigned(Tokens.mix(h),
        Tokens.WORDS.length)]);
    }
    return text.toString();
  }

  /** A RIFF/WAVE file's length in seconds (its data chunk over the fmt chunk's byte rate); -1 when not a WAV. */
  static double wavSeconds(Buffer file) {
    if (file.length() < 12 || !file.getString(0, 4, "US-ASCII").equals("RIFF")
      || !file.getString(8, 12, "US-ASCII").equals("WAVE")) {
      return -1;
    }
    long byteRate = -1;
    int pos = 12;
    while (pos + 8 <= file.length()) {
      String id = file.getString(pos, pos + 4, "US-ASCII");
      long size = file.getUnsignedIntLE(pos + 4);
      if (id.equals("fmt ") && pos + 16 <= file.length()) {
        byteRate = file.getUnsignedIntLE(pos + 16);
      } else if (id.equals("data")) {
        long data = Math.min(size, file.length() - pos - 8L);
        return byteRate > 0 ? (double) data / byteRate : -1;
      }
      pos += 8 + (int) Math.min(size + (size & 1), Integer.MAX_VALUE - pos - 8);
    }
    return -1;
  }

  private static String timestamp(double seconds, char separator) {
    long millis = Math.round(seconds * 1000);
    return String.format(Locale.ROOT, "%02d:%02d:%02d%c%03d", millis / 3_600_000, millis / 60_000 % 60,
      millis / 1000 % 60, separator, millis % 1000);
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
