package io.switchboard.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/** A plain, real HTTP/1.1 client for tests (the JDK's), with the few calls tests make. */
public final class Http {
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
    .connectTimeout(Duration.ofSeconds(5)).build();

  private Http() {
  }

  public static HttpResponse<String> get(String url, String... headers) {
    return send(builder(url, headers).GET().build());
  }

  public static HttpResponse<String> delete(String url, String... headers) {
    return send(builder(url, headers).DELETE().build());
  }

  public static HttpResponse<String> post(String url, String body, String... headers) {
    return send(builder(url, headers).header("content-type", "application/json")
      .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  public static HttpResponse<String> put(String url, String body, String... headers) {
    return send(builder(url, headers).header("content-type", "application/json")
      .PUT(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  /** The lines of a streamed response as they arrive. */
  public static HttpResponse<Stream<String>> postLines(String url, String body, String... headers) {
    try {
      return CLIENT.send(builder(url, headers).header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The SSE {@code data:} payloads of a streamed response, in order. */
  public static List<String> sseData(HttpResponse<Stream<String>> response) {
    try (Stream<String> lines = response.body()) {
      return sseData(lines);
    }
  }

  /** The data of each server-sent event among {@code lines}, in order. */
  public static List<String> sseData(Stream<String> lines) {
    return lines.filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
  }

  private static HttpRequest.Builder builder(String url, String... headers) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
    for (int i = 0; i + 1 < headers.length; i += 2) {
      builder.header(headers[i], headers[i + 1]);
    }
    return builder;
  }

  private static HttpResponse<String> send(HttpRequest request) {
    try {
      return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
