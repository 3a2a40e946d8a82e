package io.switchboard.testing;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Audio files for transcription tests: a real PCM WAV of a given length, and voice files as IM platforms serve them
 * (AMR, Ogg Opus by their magic bytes), each able to carry the words the simulator is to "hear" (its
 * {@code switchboard-transcript:} marker); and a multipart POST for requests the SDK would not send.
 */
public final class Audio {
  /** HTTP/1.1, as curl speaks it (and Expect: 100-continue is an HTTP/1.1 exchange). */
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
    .connectTimeout(Duration.ofSeconds(10)).build();

  private Audio() {
  }

  /** 16 kHz mono 16-bit PCM of {@code millis} (a quiet tone), with the words in a LIST/INFO comment when given. */
  public static byte[] wav(int millis, String words) {
    int samples = 16 * millis;
    byte[] comment = words == null ? new byte[0]
      : ("switchboard-transcript:" + words + "\0").getBytes(StandardCharsets.UTF_8);
    int commentPadded = comment.length + (comment.length & 1);
    int list = words == null ? 0 : 8 + 4 + 8 + commentPadded;
    ByteBuffer out = ByteBuffer.allocate(12 + 24 + list + 8 + samples * 2).order(ByteOrder.LITTLE_ENDIAN);
    out.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(out.capacity() - 8)
      .put("WAVE".getBytes(StandardCharsets.US_ASCII));
    out.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 1)
      .putInt(16_000).putInt(32_000).putShort((short) 2).putShort((short) 16);
    if (words != null) {
      out.put("LIST".getBytes(StandardCharsets.US_ASCII)).putInt(4 + 8 + commentPadded)
        .put("INFO".getBytes(StandardCharsets.US_ASCII)).put("ICMT".getBytes(StandardCharsets.US_ASCII))
        .putInt(comment.length).put(comment);
      if ((comment.length & 1) == 1) {
        out.put((byte) 0);
      }
    }
    out.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(samples * 2);
    for (int i = 0; i < samples; i++) {
      out.putShort((short) (Math.sin(i * 2 * Math.PI * 440 / 16_000) * 1_000));
    }
    return out.array();
  }

  /** An AMR-NB file (WeCom's voice format): its magic, the words, then frames of noise. */
  public static byte[] amr(String words) {
    return voice("#!AMR\n".getBytes(StandardCharsets.US_ASCII), words);
  }

  /** An Ogg Opus file (Feishu's voice format): an OggS page start, the words, then noise. */
  public static byte[] oggOpus(String words) {
    return voice("OggS\0\2\0\0\0\0\0\0\0\0OpusHead".getBytes(StandardCharsets.US_ASCII), words);
  }

  private static byte[] voice(byte[] magic, String words) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(magic);
    out.writeBytes(("switchboard-transcript:" + words + "\0").getBytes(StandardCharsets.UTF_8));
    for (int i = 0; i < 3_000; i++) {
      out.write((i * 31 + 7) & 0xff);
    }
    return out.toByteArray();
  }

  /** A multipart/form-data POST of {@code fields} and, unless {@code file} is null, the file. */
  public static HttpResponse<String> post(String url, String authorization, Map<String, String> fields,
                                          String fileName, byte[] file) {
    return post(url, authorization, fields, fileName, file, false);
  }

  /** @param expectContinue send {@code Expect: 100-continue} and the body only once the server says so (as curl does) */
  public static HttpResponse<String> post(String url, String authorization, Map<String, String> fields,
                                          String fileName, byte[] file, boolean expectContinue) {
    String boundary = "test-boundary-7d1f";
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    fields.forEach((name, value) -> body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\""
      + name + "\"\r\n\r\n" + value + "\r\n").getBytes(StandardCharsets.UTF_8)));
    if (file != null) {
      body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + fileName
        + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      body.writeBytes(file);
      body.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    body.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
    try {
      HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .expectContinue(expectContinue)
        .header("content-type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()));
      if (authorization != null) {
        request.header("authorization", authorization);
      }
      return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
