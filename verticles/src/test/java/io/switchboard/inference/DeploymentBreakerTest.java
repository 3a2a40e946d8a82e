package io.switchboard.inference;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.switchboard.bus.ApiError;
import io.switchboard.config.SwitchboardConfig.Breaker;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** The breaker's rules as a deployment sees them: what counts, what opens it, and how few probes get through. */
class DeploymentBreakerTest {
  private static final long MS = 1_000_000;

  private static DeploymentBreaker breaker(Breaker settings) {
    return new DeploymentBreaker(new Deployment("d.0", "d", "openai", "http://127.0.0.1:1", List.of(), "d", 1, 1000,
      1000, 1000, 1000, 4, 0, null, settings), new SimpleMeterRegistry());
  }

  private static Breaker rate(int window, int minimum, long slowMillis, int halfOpen, long resetMillis) {
    return new Breaker(Breaker.RATE, 0, window, 0, minimum, 50, slowMillis, 50, halfOpen, resetMillis);
  }

  private static Future<String> fail(DeploymentBreaker breaker, ApiError error, boolean retryable) {
    return breaker.execute(() -> Future.failedFuture(new UpstreamFailure(error, retryable, 0)), () -> MS);
  }

  @Test
  void half_the_window_failing_opens_it_once_the_minimum_is_reached_and_an_open_circuit_refuses_at_once() {
    DeploymentBreaker breaker = breaker(rate(10, 6, 0, 1, 60_000));
    for (int i = 0; i < 5; i++) {
      fail(breaker, ApiError.upstreamFailed("boom"), true);
    }
    assertEquals(CircuitBreaker.State.CLOSED, breaker.state(), "5 calls: below minimum_calls");
    fail(breaker, ApiError.upstreamFailed("boom"), true);
    assertEquals(CircuitBreaker.State.OPEN, breaker.state());
    int[] called = {0};
    Future<String> refused = breaker.execute(() -> {
      called[0]++;
      return Future.succeededFuture("x");
    }, () -> MS);
    assertInstanceOf(DeploymentBreaker.Open.class, refused.cause());
    assertEquals(0, called[0], "an open circuit does not call the upstream");
  }

  @Test
  void slow_first_tokens_open_it_though_every_call_succeeds() {
    DeploymentBreaker breaker = breaker(rate(10, 4, 100, 1, 60_000));
    for (int i = 0; i < 3; i++) {
      breaker.execute(() -> Future.succeededFuture("fast"), () -> 10 * MS);
    }
    for (int i = 0; i < 3; i++) {
      breaker.execute(() -> Future.succeededFuture("slow"), () -> 500 * MS);
    }
    assertEquals(CircuitBreaker.State.OPEN, breaker.state(), "3 of 6 slow: the slow-call rate reached 50%");
  }

  @Test
  void the_clients_own_mistakes_and_our_own_cancels_do_not_count() {
    DeploymentBreaker breaker = breaker(rate(4, 4, 0, 1, 60_000));
    for (int i = 0; i < 20; i++) {
      fail(breaker, new ApiError(400, "invalid_request_error", null, "bad", null), false);
      fail(breaker, ApiError.cancelled("client disconnected"), false);
    }
    assertEquals(CircuitBreaker.State.CLOSED, breaker.state());
  }

  @Test
  void consecutive_opens_after_max_failures_in_a_row_and_a_success_resets_the_count() {
    DeploymentBreaker breaker = breaker(new Breaker(3, 60_000));
    fail(breaker, ApiError.upstreamFailed("boom"), true);
    fail(breaker, ApiError.upstreamFailed("boom"), true);
    breaker.execute(() -> Future.succeededFuture("ok"), () -> MS);
    fail(breaker, ApiError.upstreamFailed("boom"), true);
    fail(breaker, ApiError.upstreamFailed("boom"), true);
    assertEquals(CircuitBreaker.State.CLOSED, breaker.state(), "never 3 in a row");
    fail(breaker, ApiError.upstreamFailed("boom"), true);
    assertEquals(CircuitBreaker.State.OPEN, breaker.state());
  }

  @Test
  void after_the_reset_time_only_half_open_calls_probes_go_through_and_their_success_closes_it() throws Exception {
    DeploymentBreaker breaker = breaker(rate(4, 4, 0, 2, 100));
    for (int i = 0; i < 4; i++) {
      fail(breaker, ApiError.upstreamFailed("boom"), true);
    }
    assertEquals(CircuitBreaker.State.OPEN, breaker.state());
    Thread.sleep(300);
    List<Promise<String>> probes = new ArrayList<>();
    int refused = 0;
    for (int i = 0; i < 10; i++) {
      Future<String> outcome = breaker.execute(() -> {
        Promise<String> probe = Promise.promise();
        probes.add(probe);
        return probe.future();
      }, () -> MS);
      if (outcome.failed()) {
        refused++;
      }
    }
    assertEquals(2, probes.size(), "half_open_calls: 2 probes at a time");
    assertEquals(8, refused);
    assertEquals(CircuitBreaker.State.HALF_OPEN, breaker.state());
    probes.forEach(p -> p.complete("back"));
    assertEquals(CircuitBreaker.State.CLOSED, breaker.state());
  }
}
