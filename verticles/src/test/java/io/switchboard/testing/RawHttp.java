package io.switchboard.testing;

import io.vertx.core.json.JsonObject;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** HTTP/1.1 as bytes on a real socket, for requests no well-behaved client would send. */
public final class RawHttp {
  private RawHttp() {
  }

  /** What the server wrote back, and whether it closed the connection (EOF) before {@code timeoutMillis}. */
  public record Exchange(String text, boolean closed) {
    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.[01] \\d{3}[^\r\n]*");

    /** Each response's status line, in order. */
    public List<String> statusLines() {
      List<String> lines = new ArrayList<>();
      Matcher status = STATUS_LINE.matcher(text);
      while (status.find()) {
        lines.add(status.group());
      }
      return lines;
    }

    public int status() {
      List<String> lines = statusLines();
      if (lines.isEmpty()) {
        throw new AssertionError("no response at all" + (closed ? " (connection closed)" : "") + ": '" + text + "'");
      }
      return Integer.parseInt(lines.get(0).split(" ")[1]);
    }

    public String header(String name) {
      for (String line : text.substring(0, Math.max(0, text.indexOf("\r\n\r\n"))).split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
          return line.substring(colon + 1).trim();
        }
      }
      return null;
    }

    /** The body of the first response (it must have a Content-Length). */
    public String body() {
      int start = text.indexOf("\r\n\r\n") + 4;
      int length = Integer.parseInt(header("content-length"));
      return text.substring(start, Math.min(text.length(), start + length));
    }

    /** The first response's body as an OpenAI error object ({@code {"error":{...}}}); fails if it is not one. */
    public JsonObject error() {
      JsonObject error = new JsonObject(body()).getJsonObject("error");
      if (error == null || error.getString("message") == null || error.getString("type") == null
        || !error.containsKey("code") || !error.containsKey("param")) {
        throw new AssertionError("not an OpenAI-shaped error: " + text);
      }
      return error;
    }
  }

  /** Sends {@code request} as written and reads until the server closes or {@code timeoutMillis} pass. */
  public static Exchange exchange(int port, String request, long timeoutMillis) {
    return exchange(port, request.getBytes(StandardCharsets.ISO_8859_1), timeoutMillis);
  }

  public static Exchange exchange(int port, byte[] request, long timeoutMillis) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.getOutputStream().write(request);
      socket.getOutputStream().flush();
      return readUntilClosed(socket, timeoutMillis);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads what the server writes until it closes (EOF or reset) or the time is up. */
  public static Exchange readUntilClosed(Socket socket, long timeoutMillis) throws IOException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[8192];
    while (true) {
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) {
        return new Exchange(received.toString(StandardCharsets.ISO_8859_1), false);
      }
      socket.setSoTimeout((int) Math.max(1, left));
      int n;
      try {
        n = in.read(buffer);
      } catch (SocketTimeoutException e) {
        return new Exchange(received.toString(StandardCharsets.ISO_8859_1), false);
      } catch (IOException reset) {
        return new Exchange(received.toString(StandardCharsets.ISO_8859_1), true);
      }
      if (n < 0) {
        return new Exchange(received.toString(StandardCharsets.ISO_8859_1), true);
      }
      received.write(buffer, 0, n);
    }
  }
}
