package io.switchboard.im;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.Map;

/**
 * One channel's HTTP client to its platform's API: JSON in, JSON out, bounded in time and connections; and media
 * downloads, bounded in size and time.
 */
final class PlatformApi {
  private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
  private static final long IDLE_TIMEOUT_MILLIS = 15_000;

  /** A platform's answer: its HTTP status and JSON body (empty when the body was not a JSON object). */
  record Reply(int status, JsonObject body) {
  }

  /**
   * A downloaded body: the platform's status, its declared content type (null when none) and the bytes. A platform
   * that refuses a download answers JSON instead of the file: {@link #json()} reads it.
   */
  record Download(int status, String contentType, Buffer bytes) {
    /** The body as a JSON object when it is one (a platform's error), else empty. */
    JsonObject json() {
      return bytes.length() < 65_536 ? PlatformApi.json(bytes) : new JsonObject();
    }

    @Override
    public String toString() {
      return "Download[status=" + status + ", contentType=" + contentType + ", bytes=" + bytes.length() + "]";
    }
  }

  private final Vertx vertx;
  private final HttpClientAgent client;

  PlatformApi(Vertx vertx) {
    this.vertx = vertx;
    this.client = vertx.httpClientBuilder()
      .with(new HttpClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MILLIS).setKeepAlive(true).setTcpNoDelay(true))
      .with(new PoolOptions().setHttp1MaxSize(16).setMaxWaitQueueSize(4_096))
      .build();
  }

  Future<Reply> get(String url, Map<String, String> headers) {
    return call(HttpMethod.GET, url, headers, null);
  }

  Future<Reply> post(String url, Map<String, String> headers, JsonObject body) {
    return call(HttpMethod.POST, url, headers, body);
  }

  private Future<Reply> call(HttpMethod method, String url, Map<String, String> headers, JsonObject body) {
    RequestOptions options = new RequestOptions().setMethod(method).setAbsoluteURI(url)
      .setConnectTimeout(CONNECT_TIMEOUT_MILLIS).setIdleTimeout(IDLE_TIMEOUT_MILLIS)
      .putHeader("accept", "application/json");
    headers.forEach(options::putHeader);
    if (body != null) {
      options.putHeader("content-type", "application/json; charset=utf-8");
    }
    return client.request(options)
      .compose(request -> body == null ? request.send() : request.send(body.toBuffer()))
      .compose(response -> response.body().map(bytes -> new Reply(response.statusCode(), json(bytes))))
      .recover(failure -> Future.failedFuture(new PlatformCallFailed(describe(method, url) + " failed ("
        + failure.getClass().getSimpleName() + ")", true)));
  }

  /**
   * Downloads a body of at most {@code maxBytes} within {@code timeoutMillis}, reading no further than the limit: a
   * larger body (declared or streamed) fails with {@link ImageUnavailable} (too large) and the connection is reset.
   */
  Future<Download> download(String url, Map<String, String> headers, long maxBytes, long timeoutMillis) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url)
      .setConnectTimeout(CONNECT_TIMEOUT_MILLIS).setIdleTimeout(IDLE_TIMEOUT_MILLIS).putHeader("accept", "*/*");
    headers.forEach(options::putHeader);
    String call = describe(HttpMethod.GET, url);
    Promise<Download> result = Promise.promise();
    client.request(options).onComplete(opened -> {
      if (opened.failed()) {
        result.tryFail(new PlatformCallFailed(call + " failed (" + opened.cause().getClass().getSimpleName() + ")",
          true));
        return;
      }
      HttpClientRequest request = opened.result();
      long timer = vertx.setTimer(timeoutMillis, id -> {
        if (result.tryFail(new PlatformCallFailed(call + " took longer than " + timeoutMillis + " ms", true))) {
          request.reset();
        }
      });
      result.future().onComplete(done -> vertx.cancelTimer(timer));
      request.send().onComplete(sent -> {
        if (sent.failed()) {
          result.tryFail(new PlatformCallFailed(call + " failed (" + sent.cause().getClass().getSimpleName() + ")",
            true));
          return;
        }
        HttpClientResponse response = sent.result();
        // after a reset of our own the promise is already failed: the stream's error says nothing new
        response.exceptionHandler(failure -> result.tryFail(new PlatformCallFailed(call + " failed while reading ("
          + failure.getClass().getSimpleName() + ")", true)));
        String declared = response.getHeader("content-length");
        if (declared != null && parseLong(declared) > maxBytes) {
          tooLarge(result, request, call, maxBytes);
          return;
        }
        Buffer bytes = Buffer.buffer();
        response.handler(chunk -> {
          if (bytes.length() + (long) chunk.length() > maxBytes) {
            tooLarge(result, request, call, maxBytes);
          } else if (!result.future().isComplete()) {
            bytes.appendBuffer(chunk);
          }
        });
        response.endHandler(end -> result.tryComplete(new Download(response.statusCode(),
          response.getHeader("content-type"), bytes)));
      });
    });
    return result.future();
  }

  private static void tooLarge(Promise<Download> result, HttpClientRequest request, String call, long maxBytes) {
    if (result.tryFail(ImageUnavailable.tooLarge(call + " answered more than " + maxBytes + " bytes"))) {
      request.reset();
    }
  }

  private static long parseLong(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The call as logs may show it: no query string, which carries secrets and tokens. */
  static String describe(HttpMethod method, String url) {
    try {
      URI uri = URI.create(url);
      return method + " " + uri.getScheme() + "://" + uri.getAuthority() + uri.getPath();
    } catch (IllegalArgumentException e) {
      return method + " (unparseable URL)";
    }
  }

  static JsonObject json(Buffer bytes) {
    try {
      return bytes.length() > 0 && bytes.getByte(0) == '{' ? bytes.toJsonObject() : new JsonObject();
    } catch (DecodeException e) {
      return new JsonObject();
    }
  }

  Future<Void> close() {
    return client.close();
  }
}
