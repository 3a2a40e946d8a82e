package io.switchboard.eventbus;

import io.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

import java.util.ArrayList;
import java.util.List;

/**
 * Request/reply that stays on this node when a handler is here and crosses the cluster only when it is
 * not: a node-local send that finds no handler fails at once, without touching the network.
 */
public final class PreferLocal {
  /** A request discarded by an unregistering consumer is sent again this many times at most. */
  private static final int MAX_REDELIVERIES = 3;

  /** Registers a handler under both twins of a service address (see {@link Addresses}). */
  public static <T> Future<Void> serve(EventBus bus, String address, Handler<Message<T>> handler) {
    return serve(bus, address, handler, new ArrayList<>());
  }

  /** As {@link #serve(EventBus, String, Handler)}, adding both consumers to {@code intake} (to stop taking work). */
  public static <T> Future<Void> serve(EventBus bus, String address, Handler<Message<T>> handler,
                                       List<MessageConsumer<?>> intake) {
    MessageConsumer<T> local = bus.localConsumer(address, handler);
    MessageConsumer<T> cluster = bus.consumer(Addresses.cluster(address), handler);
    intake.add(local);
    intake.add(cluster);
    return Future.all(local.completion(), cluster.completion()).mapEmpty();
  }

  /** Unregisters what {@link #serve} registered: no new work arrives, work in flight goes on. */
  public static Future<Void> stopServing(List<MessageConsumer<?>> intake) {
    return Future.all(intake.stream().map(MessageConsumer::unregister).toList()).mapEmpty();
  }

  private PreferLocal() {
  }

  public static <T> Future<Message<T>> request(EventBus bus, String address, Object body, long timeoutMillis) {
    return request(bus, address, body, timeoutMillis, MAX_REDELIVERIES);
  }

  private static <T> Future<Message<T>> request(EventBus bus, String address, Object body, long timeoutMillis,
                                                int redeliveries) {
    DeliveryOptions local = new DeliveryOptions().setLocalOnly(true).setSendTimeout(timeoutMillis);
    // one continuation on the answer's way back (the hot path's usual case: answered here); the cluster's leg and a
    // request sent again only where a failure asks for them
    return bus.<T>request(address, body, local).recover(failure -> {
      if (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS) {
        return bus.<T>request(Addresses.cluster(address), body, new DeliveryOptions().setSendTimeout(timeoutMillis))
          .recover(remote -> again(remote, bus, address, body, timeoutMillis, redeliveries));
      }
      return again(failure, bus, address, body, timeoutMillis, redeliveries);
    });
  }

  /** The request once more when the failure says no handler saw it and redeliveries are left; else the failure. */
  private static <T> Future<Message<T>> again(Throwable failure, EventBus bus, String address, Object body,
                                              long timeoutMillis, int redeliveries) {
    return redeliveries > 0 && discarded(failure)
      ? request(bus, address, body, timeoutMillis, redeliveries - 1) : Future.failedFuture(failure);
  }

  /**
   * Whether the request reached a consumer that was unregistering (a verticle being redeployed stops taking work):
   * Vert.x then answers at once with a TIMEOUT saying so. The handler never saw it, so sending it again is safe.
   */
  private static boolean discarded(Throwable failure) {
    return failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.TIMEOUT
      && reply.getMessage() != null && reply.getMessage().startsWith("Discarded the request.");
  }
}
