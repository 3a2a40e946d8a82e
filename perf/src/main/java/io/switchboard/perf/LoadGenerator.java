package io.switchboard.perf;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An open-loop load generator. Requests start at fixed intended times (a constant arrival rate), whatever
 * the server does, and every latency is measured from the intended start: a slow server cannot hide its
 * latency by slowing the generator down (no coordinated omission). Several targets are interleaved request
 * by request in one run. Loopback targets only. Bounded: rate x duration requests, each ended by its
 * timeout at the latest, then it stops.
 *
 * <pre>java -jar perf/target/switchboard-perf.jar mode=sse rate=500 duration=10 target=http://127.0.0.1:8091/v1/chat/completions</pre>
 *
 * Modes: json and sse (POST /v1/chat/completions), ws-chat (chat turns over /v1/ws), ws (open
 * {@code connections} WebSockets at {@code rate} per second, hold them idle for {@code duration} seconds).
 */
public final class LoadGenerator {
  private static final Logger QUIET_LOGGER = Logger.getLogger("io.vertx.core.http.impl.HttpClientConnectionInternal");
  private final Vertx vertx;
  private final Context context;
  private final Settings settings;
  private final List<Target> targets = new ArrayList<>();

  private LoadGenerator(Vertx vertx, Settings settings) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.settings = settings;
  }

  public static void main(String[] args) throws Exception {
    Settings settings;
    try {
      settings = Settings.parse(args);
    } catch (IllegalArgumentException | IOException e) {
      System.err.println("loadgen: " + e.getMessage());
      System.exit(2);
      return;
    }
    QUIET_LOGGER.setLevel(Level.SEVERE); // "Connection evicted" for every socket a server refuses or closes
    Vertx vertx = Vertx.vertx();
    int status = 0;
    try {
      new LoadGenerator(vertx, settings).run(args);
    } catch (ExecutionException | TimeoutException e) { // a target could not be opened, or a bound was passed
      System.err.println("loadgen: " + (e instanceof ExecutionException ? e.getCause() : "gave up waiting: " + e));
      status = 1;
    } finally {
      await(vertx.close(), 30);
    }
    System.exit(status);
  }

  private void run(String[] args) throws Exception {
    for (URI uri : settings.targets) {
      targets.add(switch (settings.mode) {
        case "json" -> new HttpTarget(vertx, uri, settings, false);
        case "sse" -> new HttpTarget(vertx, uri, settings, true);
        case "ws-chat" -> new SocketChatTarget(vertx, uri, settings);
        default -> new IdleSocketsTarget(vertx, uri, settings);
      });
    }
    await(onContext(() -> Future.all(targets.stream().map(Target::open).toList())), 120);
    boolean idle = settings.mode.equals("ws");
    System.out.println(idle
      ? String.format("ws: opening %d idle sockets per target at %d/s after %d s of warm-up, holding them %d s; %s",
          settings.connections, settings.rate, settings.warmupSeconds, settings.durationSeconds, settings.targets)
      : String.format("%s: %d req/s for %d s after %d s of warm-up%s, %d connections per target, timeout %d ms; %s",
          settings.mode, settings.rate, settings.durationSeconds, settings.warmupSeconds,
          settings.warmupSeconds > 0 && settings.warmupRate() != settings.rate ? " at " + settings.warmupRate() + "/s" : "",
          settings.connections, settings.timeoutMillis, settings.targets));
    if (settings.warmupSeconds > 0) {
      openLoop((long) settings.warmupRate() * settings.warmupSeconds, settings.warmupRate());
      await(onContext(() -> Future.join(targets.stream().map(Target::reset).toList())), 60);
    }
    Instant started = Instant.now();
    long startNanos = System.nanoTime();
    openLoop(idle ? (long) settings.connections * targets.size() : (long) settings.rate * settings.durationSeconds,
      settings.rate);
    if (idle) {
      await(onContext(() -> vertx.timer(settings.durationSeconds, TimeUnit.SECONDS)), settings.durationSeconds + 10L);
    }
    Report report = new Report(settings, args, started, startNanos, targets);
    report.print(System.out);
    if (settings.out != null) {
      Path out = Path.of(settings.out).toAbsolutePath();
      Files.createDirectories(out.getParent());
      Files.writeString(out, report.json().encodePrettily() + "\n");
      System.out.println("wrote " + settings.out);
    }
    await(onContext(() -> Future.join(targets.stream().map(Target::close).toList())), 30);
  }

  /**
   * Fires {@code count} requests at {@code rate} per second, each at its intended time (checked every
   * millisecond; the lag is reported as "send lag"), and returns when every one has ended. With several targets,
   * each request goes to one drawn at random: a strict alternation (or shuffled rounds) ties each target to the
   * one before it and to a phase against the timer tick, which biases the comparison by up to the send lag.
   */
  private void openLoop(long count, int rate) throws Exception {
    Promise<Void> allEnded = Promise.promise();
    Random random = new Random(count);
    context.runOnContext(v -> {
      long start = System.nanoTime();
      long[] fired = {0};
      long[] open = {0};
      vertx.setPeriodic(1, 1, timer -> {
        long now = System.nanoTime();
        while (fired[0] < count) {
          long intended = start + fired[0] * 1_000_000_000L / rate;
          if (intended > now) {
            break;
          }
          Target target = targets.get(random.nextInt(targets.size()));
          open[0]++;
          target.fire(intended).onComplete(ended -> {
            if (--open[0] == 0 && fired[0] == count) {
              allEnded.tryComplete();
            }
          });
          fired[0]++;
        }
        if (fired[0] == count) {
          vertx.cancelTimer(timer);
          if (open[0] == 0) {
            allEnded.tryComplete();
          }
        }
      });
    });
    long seconds = count / rate + TimeUnit.MILLISECONDS.toSeconds(settings.timeoutMillis) + 30;
    await(allEnded.future(), seconds);
  }

  private <T> Future<T> onContext(Supplier<Future<T>> action) {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> action.get().onComplete(result));
    return result.future();
  }

  /** Waits on the main thread (never on an event loop). */
  private static <T> T await(Future<T> future, long seconds) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(seconds, TimeUnit.SECONDS);
  }
}
