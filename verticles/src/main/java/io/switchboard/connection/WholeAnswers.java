package io.switchboard.connection;

import io.switchboard.bus.Addresses;
import io.switchboard.bus.CancelTurn;
import io.switchboard.bus.RoutedRequest;
import io.switchboard.eventbus.PreferLocal;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.util.function.BiConsumer;

/**
 * What the doors answered whole (embeddings, moderations, transcriptions) do alike around their routed call: the
 * client leaving cancels the upstream call wherever it runs, and the upstream's answer is relayed as it wrote it,
 * named by the deployment that gave it.
 */
final class WholeAnswers {
  /** The bus waits this much beyond the request's own timeout, so that routing's timeout is the one that answers. */
  private static final long BUS_MARGIN_MILLIS = 5_000;

  private final Vertx vertx;
  private final BiConsumer<RoutingContext, Integer> record;

  /** @param record writes the access log line and request metrics for a finished request */
  WholeAnswers(Vertx vertx, BiConsumer<RoutingContext, Integer> record) {
    this.vertx = vertx;
    this.record = record;
  }

  void cancelWhenClientLeaves(HttpServerResponse response, String requestId) {
    response.closeHandler(v -> {
      if (!response.ended()) {
        vertx.eventBus().publish(Addresses.TURN_CANCEL, new CancelTurn(requestId, CancelTurn.ALL,
          "client disconnected"));
      }
    });
  }

  /** The request sent to routing at {@code address}, preferring this node. */
  <T> Future<Message<T>> route(String address, RoutedRequest request) {
    return PreferLocal.request(vertx.eventBus(), address, request, request.timeoutMillis() + BUS_MARGIN_MILLIS);
  }

  /** The upstream's answer, unless the client is gone. */
  void relay(RoutingContext ctx, String deployment, String contentType, Buffer answer) {
    HttpServerResponse response = ctx.response();
    if (response.ended() || response.closed()) {
      return;
    }
    response.putHeader("x-switchboard-deployment", String.valueOf(deployment))
      .putHeader("content-type", contentType).end(answer);
    record.accept(ctx, 200);
  }
}
