package io.switchboard.eventbus;

import io.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/**
 * Request/reply that stays on this node when a handler is here and crosses the cluster only when it is
 * not: a node-local send that finds no handler fails at once, without touching the network.
 */
public final class PreferLocal {
  /** Registers a handler under both twins of a service address (see {@link Addresses}). */
  public static <T> Future<Void> serve(EventBus bus, String address, Handler<Message<T>> handler) {
    return Future.all(bus.<T>localConsumer(address, handler).completion(),
      bus.<T>consumer(Addresses.cluster(address), handler).completion()).mapEmpty();
  }

  private PreferLocal() {
  }

  public static <T> Future<Message<T>> request(EventBus bus, String address, Object body, long timeoutMillis) {
    DeliveryOptions local = new DeliveryOptions().setLocalOnly(true).setSendTimeout(timeoutMillis);
    return bus.<T>request(address, body, local).recover(failure -> {
      if (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS) {
        return bus.request(Addresses.cluster(address), body, new DeliveryOptions().setSendTimeout(timeoutMillis));
      }
      return Future.failedFuture(failure);
    });
  }
}
