package io.switchboard.perf;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;

import java.net.URI;

/** One server under load, with its own figures. Every call is made on the generator's one event loop. */
abstract class Target {
  final Vertx vertx;
  final URI uri;
  final Settings settings;
  final Stats stats = new Stats();

  Target(Vertx vertx, URI uri, Settings settings) {
    this.vertx = vertx;
    this.uri = uri;
    this.settings = settings;
  }

  /** Fires one request (or opens one connection) meant to start at {@code intendedNanos}; never fails. */
  abstract Future<Void> fire(long intendedNanos);

  /** Whatever must exist before the first request (e.g. sockets to send turns on). */
  Future<Void> open() {
    return Future.succeededFuture();
  }

  /** Forgets the warm-up: its figures (and anything it left open). */
  Future<Void> reset() {
    stats.reset();
    return Future.succeededFuture();
  }

  /** Mode-specific figures for the report, or null. */
  JsonObject details() {
    return null;
  }

  Future<Void> close() {
    return Future.succeededFuture();
  }

  /** A short name for tables: host:port. */
  String name() {
    return uri.getAuthority();
  }

  int port() {
    return uri.getPort() > 0 ? uri.getPort() : 80;
  }

  /** The URL's path, or {@code fallback} when it has none. */
  String path(String fallback) {
    return uri.getRawPath() == null || uri.getRawPath().isEmpty() ? fallback : uri.getRawPath();
  }

  /** The gateway's WebSocket ({@code /v1/ws} unless the URL names another path), with the key and headers. */
  WebSocketConnectOptions webSocketOptions() {
    WebSocketConnectOptions options = new WebSocketConnectOptions().setHost(uri.getHost()).setPort(port())
      .setURI(path("/v1/ws"));
    if (settings.apiKey != null) {
      options.putHeader("authorization", "Bearer " + settings.apiKey);
    }
    settings.headers.forEach(options::putHeader);
    return options;
  }
}
