package io.switchboard.session;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * One event-loop context to call a store on, as the session verticle does; the test thread waits for the outcome.
 * Stores are created through it too, so their timers and connections belong to that event loop.
 */
final class EventLoop {
  static final Duration PATIENCE = Duration.ofSeconds(10);

  private final Context context;

  EventLoop(Vertx vertx) {
    this.context = vertx.getOrCreateContext();
  }

  <T> T create(Supplier<T> factory) {
    return await(submit(() -> Future.succeededFuture(factory.get())));
  }

  <T> T call(Supplier<Future<T>> operation) {
    return await(submit(operation));
  }

  <T> CompletableFuture<T> submit(Supplier<Future<T>> operation) {
    CompletableFuture<T> outcome = new CompletableFuture<>();
    context.runOnContext(v -> {
      try {
        operation.get().onSuccess(outcome::complete).onFailure(outcome::completeExceptionally);
      } catch (RuntimeException thrown) {
        outcome.completeExceptionally(thrown);
      }
    });
    return outcome;
  }

  static <T> T await(CompletableFuture<T> outcome) {
    try {
      return outcome.get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("operation failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError("operation did not complete within " + PATIENCE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The failure of an operation that is expected to fail; an AssertionError when it succeeds or never completes. */
  static Throwable failureOf(CompletableFuture<?> outcome) {
    try {
      Object value = outcome.get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
      throw new AssertionError("expected a failure, got " + value);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (TimeoutException e) {
      throw new AssertionError("operation neither failed nor succeeded within " + PATIENCE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
