package io.switchboard.inference;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * What every fake cloud provider on loopback shares: a server, a record of the requests it got, and failures
 * queued for the next requests ({@link #failNext}), each answered in the provider's own error shape.
 */
abstract class FakeProvider implements AutoCloseable {
  record Received(String method, String uri, MultiMap headers, Buffer raw) {
    String header(String name) {
      return headers.get(name);
    }

    JsonObject body() {
      return raw.toJsonObject();
    }
  }

  private HttpServer server;
  final List<Received> received = new CopyOnWriteArrayList<>();
  private final ConcurrentLinkedQueue<Integer> failures = new ConcurrentLinkedQueue<>();

  /** Starts listening on a free loopback port. */
  <T extends FakeProvider> T listen(Vertx vertx) throws Exception {
    server = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      received.add(new Received(request.method().name(), request.uri(),
        MultiMap.caseInsensitiveMultiMap().addAll(request.headers()), body));
      handle(request, body);
    }));
    server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    @SuppressWarnings("unchecked") T self = (T) this;
    return self;
  }

  String origin() {
    return "http://127.0.0.1:" + server.actualPort();
  }

  /** The next {@code count} requests that pass the provider's checks fail with {@code status}. */
  void failNext(int status, int count) {
    for (int i = 0; i < count; i++) {
      failures.add(status);
    }
  }

  /** A queued failure status for this request, or 0. */
  int queuedFailure() {
    Integer status = failures.poll();
    return status == null ? 0 : status;
  }

  Received last() {
    return received.get(received.size() - 1);
  }

  abstract void handle(HttpServerRequest request, Buffer body);

  @Override
  public void close() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
