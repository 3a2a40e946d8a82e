package io.switchboard.im;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.Map;

/** One channel's HTTP client to its platform's API: JSON in, JSON out, bounded in time and connections. */
final class PlatformApi {
  private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
  private static final long IDLE_TIMEOUT_MILLIS = 15_000;

  /** A platform's answer: its HTTP status and JSON body (empty when the body was not a JSON object). */
  record Reply(int status, JsonObject body) {
  }

  private final HttpClientAgent client;

  PlatformApi(Vertx vertx) {
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

  /** The call as logs may show it: no query string, which carries secrets and tokens. */
  static String describe(HttpMethod method, String url) {
    try {
      URI uri = URI.create(url);
      return method + " " + uri.getScheme() + "://" + uri.getAuthority() + uri.getPath();
    } catch (IllegalArgumentException e) {
      return method + " (unparseable URL)";
    }
  }

  private static JsonObject json(Buffer bytes) {
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
