package io.switchboard.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The exact-match response cache of one node, shared by its connection verticle instances (it is thread-safe, and
 * every future it hands out completes on the caller's own context). Two layers: a bounded in-process one (Caffeine,
 * weighed by entry size, each entry expiring with its TTL) in front of an optional Redis one that every node shares.
 * <p>
 * Single-flight: a turn that finds no entry either leads (calls the model, then {@link Flight#offer offers} the
 * answer) or waits for the turn already leading the same key, on this node (a map of flights) or on another (through
 * the {@link SharedLayer}'s claim). When the leader fails its waiters do not fail with it: the first to notice leads
 * again and the rest wait for that one; a waiter that saw two leaders fail, or waited as long as its own deadline,
 * asks the model itself. An answer that cannot be stored (an error, a cut-off stream, too big, tool calls when the
 * route keeps none) releases every waiter to ask on its own.
 */
public final class ResponseCache {
  private static final Logger LOG = LoggerFactory.getLogger(ResponseCache.class);
  /** How often a waiting node looks at Redis: soon at first, then less often. */
  private static final long FIRST_POLL_MILLIS = 10;
  private static final long MAX_POLL_MILLIS = 200;
  /** Leaders that may fail before a waiter stops waiting for the next. */
  private static final int RETRIES = 1;

  /** What a turn does with the cache. */
  public enum Use {
    /** Served from the cache when it can be, stored when it is a miss. */
    READ_WRITE,
    /** {@code cache-control: no-cache}: a fresh answer, stored for the next. */
    WRITE_ONLY,
    /** Not cached at all: the route keeps no cache, {@code no-store}, or several choices ({@code n} > 1). */
    OFF
  }

  /** A lookup's outcome: an answer to serve ({@code hit}, with the layer it came from), or a flight to run. */
  public record Lookup(CachedAnswer hit, String layer, Flight flight) {
  }

  /** How a flight ended for the turns waiting on it. */
  private record Outcome(CachedAnswer answer, boolean retry) {
  }

  private final Vertx vertx;
  private final SwitchboardConfig.Cache settings;
  private final Cache<String, CachedAnswer> local;
  private final SharedLayer shared;
  private final Map<String, CompletableFuture<Outcome>> flights = new ConcurrentHashMap<>();
  private final String node = UUID.randomUUID().toString();
  private final AtomicLong tokens = new AtomicLong();
  private final Counter localHits;
  private final Counter sharedHits;
  private final Counter flightHits;
  private final Counter misses;
  private final Counter bypasses;
  private final Counter servedBytes;
  private final Counter storedBytes;
  private final Counter notStored;
  private final Counter sharedErrors;

  public ResponseCache(Vertx vertx, SwitchboardConfig.Cache settings, MeterRegistry registry) {
    this.vertx = vertx;
    this.settings = settings;
    this.local = Caffeine.newBuilder()
      .maximumWeight(settings.maxLocalBytes())
      .weigher((String key, CachedAnswer answer) -> key.length() + answer.weight())
      .expireAfter(new Expiry<String, CachedAnswer>() {
        @Override
        public long expireAfterCreate(String key, CachedAnswer answer, long now) {
          return remainingNanos(answer);
        }

        @Override
        public long expireAfterUpdate(String key, CachedAnswer answer, long now, long current) {
          return remainingNanos(answer);
        }

        @Override
        public long expireAfterRead(String key, CachedAnswer answer, long now, long current) {
          return current;
        }
      })
      .executor(Runnable::run) // upkeep inline: no extra thread to wake on a small machine
      .build();
    this.shared = settings.shared() ? new SharedLayer(vertx, settings.redisUrl()) : null;
    localHits = lookups(registry, "hit", "local");
    sharedHits = lookups(registry, "hit", "shared");
    flightHits = lookups(registry, "hit", "flight");
    misses = lookups(registry, "miss", "none");
    bypasses = lookups(registry, "bypass", "none");
    servedBytes = Counter.builder("switchboard.cache.bytes").tag("direction", "served")
      .description("Bytes of answers served from the cache, and stored in it").baseUnit("bytes").register(registry);
    storedBytes = Counter.builder("switchboard.cache.bytes").tag("direction", "stored")
      .description("Bytes of answers served from the cache, and stored in it").baseUnit("bytes").register(registry);
    notStored = Counter.builder("switchboard.cache.not.stored")
      .description("Answers to a miss that could not be stored (too big, tool calls, cut off, failed)")
      .register(registry);
    sharedErrors = Counter.builder("switchboard.cache.shared.errors")
      .description("Calls to the shared (Redis) layer that failed; the local layer went on alone").register(registry);
    Gauge.builder("switchboard.cache.local.entries", local, c -> c.estimatedSize())
      .description("Entries in this node's local layer").register(registry);
    Gauge.builder("switchboard.cache.local.bytes", local, c -> c.policy().eviction()
        .map(e -> e.weightedSize().orElse(0L)).orElse(0L))
      .description("Bytes held by this node's local layer").baseUnit("bytes").register(registry);
  }

  private static Counter lookups(MeterRegistry registry, String result, String layer) {
    return Counter.builder("switchboard.cache.lookups").tag("result", result).tag("layer", layer)
      .description("Chat turns by what the response cache did: hit (by layer), miss, bypass").register(registry);
  }

  private static long remainingNanos(CachedAnswer answer) {
    return TimeUnit.MILLISECONDS.toNanos(Math.max(0, answer.expiresAtMillis() - System.currentTimeMillis()));
  }

  /** Listens for flush orders: node-locally for the admin API, cluster-wide for dropping every node's local layer. */
  public Future<Void> start() {
    return Future.all(
      vertx.eventBus().<JsonObject>localConsumer(Addresses.CACHE_FLUSH, this::flushOrder).completion(),
      vertx.eventBus().<JsonObject>consumer(Addresses.CACHE_FLUSH_LOCAL,
        order -> flushLocal(order.body().getString("tenant"), order.body().getString("model"))).completion())
      .mapEmpty();
  }

  public Future<Void> close() {
    return shared == null ? Future.succeededFuture() : shared.close();
  }

  /** What this turn may do with the cache. */
  public static Use use(SwitchboardConfig.RouteCache route, String cacheControl, JsonObject options) {
    if (route == null) {
      return Use.OFF;
    }
    if (options != null && options.getValue("n") instanceof Number n && n.intValue() > 1) {
      return Use.OFF;
    }
    if (cacheControl != null) {
      String directives = cacheControl.toLowerCase(java.util.Locale.ROOT);
      if (directives.contains("no-store")) {
        return Use.OFF;
      }
      if (directives.contains("no-cache")) {
        return Use.WRITE_ONLY;
      }
    }
    return Use.READ_WRITE;
  }

  /** Counts a turn the cache was not asked about ({@code x-switchboard-cache: bypass}). */
  public void bypassed() {
    bypasses.increment();
  }

  /** A flight of one: its answer is stored, nobody waits for it ({@code cache-control: no-cache}). */
  public Flight alone(CacheKey key, SwitchboardConfig.RouteCache route) {
    return new Flight(key, route, null, null);
  }

  /**
   * Looks the key up (local layer, then a flight on this node, then Redis), or makes this turn the one that asks.
   * Runs on, and completes on, the caller's context.
   *
   * @param deadlineMillis when, on the wall clock, this turn stops waiting for another to answer
   */
  public Future<Lookup> lookup(CacheKey key, SwitchboardConfig.RouteCache route, long deadlineMillis) {
    return lookup(key, route, deadlineMillis, RETRIES, vertx.getOrCreateContext());
  }

  private Future<Lookup> lookup(CacheKey key, SwitchboardConfig.RouteCache route, long deadline, int retries,
                                Context context) {
    CachedAnswer found = fresh(key);
    if (found != null) {
      return Future.succeededFuture(hit(found, "local"));
    }
    CompletableFuture<Outcome> mine = new CompletableFuture<>();
    CompletableFuture<Outcome> running = flights.putIfAbsent(key.id(), mine);
    if (running != null) {
      return Future.fromCompletionStage(running, context).compose(outcome -> {
        if (outcome.answer() != null) {
          return Future.succeededFuture(hit(outcome.answer(), "flight"));
        }
        if (outcome.retry() && retries > 0) {
          return lookup(key, route, deadline, retries - 1, context);
        }
        return Future.succeededFuture(miss(alone(key, route)));
      });
    }
    Flight flight = new Flight(key, route, mine, context);
    found = fresh(key); // a flight that ended between the two looks stored its answer first
    if (found != null) {
      flight.settle(found);
      return Future.succeededFuture(hit(found, "local"));
    }
    if (shared == null) {
      return Future.succeededFuture(miss(flight));
    }
    return lookOrClaim(flight, deadline, FIRST_POLL_MILLIS);
  }

  /**
   * Looks in Redis and, when nothing is stored, takes the cluster-wide claim, in one atomic step (an answer stored
   * between a separate look and claim would be missed, and two nodes would ask the model); or waits for the node
   * that holds the claim.
   */
  private Future<Lookup> lookOrClaim(Flight flight, long deadline, long pollMillis) {
    String token = node + ':' + tokens.incrementAndGet();
    return onContext(shared.lookOrClaim(flight.key, token, settings.lockMillis()), flight.context).compose(found -> {
      CachedAnswer stored = readable(found.value());
      if (stored != null) {
        flight.settle(stored);
        return Future.succeededFuture(hit(stored, "shared"));
      }
      if (token.equals(found.claim())) {
        flight.claimed(token);
        return Future.succeededFuture(miss(flight));
      }
      if (SharedLayer.PASS.equals(found.claim())) {
        flight.release(new Outcome(null, false));
        return Future.succeededFuture(miss(alone(flight.key, flight.route)));
      }
      return poll(flight, deadline, pollMillis);
    }, failure -> sharedFailed(flight, failure));
  }

  private Future<Lookup> poll(Flight flight, long deadline, long pollMillis) {
    if (System.currentTimeMillis() + pollMillis >= deadline) {
      return Future.succeededFuture(miss(flight)); // waited long enough: ask the model
    }
    return vertx.timer(pollMillis)
      .compose(t -> onContext(shared.poll(flight.key), flight.context))
      .compose(found -> {
        CachedAnswer stored = readable(found.value());
        if (stored != null) {
          flight.settle(stored);
          return Future.succeededFuture(hit(stored, "shared"));
        }
        if (found.claim() == null) {
          return lookOrClaim(flight, deadline, pollMillis); // its holder failed, or it lapsed: take it over
        }
        if (found.claim().equals(SharedLayer.PASS)) {
          flight.release(new Outcome(null, false));
          return Future.succeededFuture(miss(alone(flight.key, flight.route)));
        }
        return poll(flight, deadline, Math.min(MAX_POLL_MILLIS, pollMillis * 2));
      }, failure -> sharedFailed(flight, failure));
  }

  private Future<Lookup> sharedFailed(Flight flight, Throwable failure) {
    sharedErrors.increment();
    LOG.debug("response cache: Redis unavailable, local layer only ({})", ApiError.from(failure).message());
    return Future.succeededFuture(miss(flight));
  }

  private Lookup hit(CachedAnswer answer, String layer) {
    (switch (layer) {
      case "local" -> localHits;
      case "shared" -> sharedHits;
      default -> flightHits;
    }).increment();
    servedBytes.increment(answer.weight());
    return new Lookup(answer, layer, null);
  }

  private Lookup miss(Flight flight) {
    misses.increment();
    return new Lookup(null, null, flight);
  }

  private CachedAnswer fresh(CacheKey key) {
    CachedAnswer found = local.getIfPresent(key.id());
    return found != null && !found.expired(System.currentTimeMillis()) ? found : null;
  }

  private CachedAnswer readable(Buffer bytes) {
    if (bytes == null) {
      return null;
    }
    try {
      CachedAnswer answer = CachedAnswer.decode(bytes);
      if (answer.expired(System.currentTimeMillis())) {
        return null;
      }
      return answer;
    } catch (RuntimeException unreadable) {
      LOG.warn("response cache: an unreadable shared entry is treated as a miss ({})", unreadable.toString());
      return null;
    }
  }

  private static <T> Future<T> onContext(Future<T> future, Context context) {
    return Future.fromCompletionStage(future.toCompletionStage(), context);
  }

  /**
   * One turn asking the model for a key, with the turns waiting for it. Exactly one of {@link #offer} and
   * {@link #failed} is called, once, on the leader's context.
   */
  public final class Flight {
    private final CacheKey key;
    private final SwitchboardConfig.RouteCache route;
    private final CompletableFuture<Outcome> waiters;
    private final Context context;
    private String token;
    private long renewal = -1;

    private Flight(CacheKey key, SwitchboardConfig.RouteCache route, CompletableFuture<Outcome> waiters,
                   Context context) {
      this.key = key;
      this.route = route;
      this.waiters = waiters;
      this.context = context;
    }

    public CacheKey key() {
      return key;
    }

    /** The TTL's end for an answer stored now. */
    public long expiresAt() {
      return System.currentTimeMillis() + route.ttlSeconds() * 1_000;
    }

    /** The largest answer worth recording while it streams. */
    public long maxBytes() {
      return settings.maxEntryBytes();
    }

    private void claimed(String claim) {
      token = claim;
      long every = Math.max(50, settings.lockMillis() / 3);
      renewal = vertx.setPeriodic(every, t -> shared.renew(key, claim, settings.lockMillis()));
    }

    /** The leader's whole, successful answer, or null when it could not be kept (cut off, a second attempt). */
    public void offer(CachedAnswer answer) {
      stopRenewing();
      if (answer == null || answer.callsTools() && !route.toolCalls() || answer.weight() > settings.maxEntryBytes()) {
        notStored.increment();
        release(new Outcome(null, false));
        if (token != null) {
          shared.handOver(key, token, settings.lockMillis()).onFailure(f -> sharedErrors.increment());
        }
        return;
      }
      storedBytes.increment(answer.weight());
      local.put(key.id(), answer);
      release(new Outcome(answer, false));
      if (shared != null) {
        shared.put(key, answer.encode(), Math.max(1, answer.expiresAtMillis() - System.currentTimeMillis()), token)
          .onFailure(f -> sharedErrors.increment());
      }
    }

    /** The leader failed: one of its waiters asks again. */
    public void failed() {
      stopRenewing();
      notStored.increment();
      release(new Outcome(null, true));
      if (token != null) {
        shared.release(key, token).onFailure(f -> sharedErrors.increment());
      }
    }

    /** An entry turned up while this flight was being set up: its waiters get it too. */
    private void settle(CachedAnswer answer) {
      local.put(key.id(), answer);
      release(new Outcome(answer, false));
    }

    private void release(Outcome outcome) {
      if (waiters != null) {
        flights.remove(key.id(), waiters); // first, so that a waiter asking again finds no finished flight
        waiters.complete(outcome);
      }
    }

    private void stopRenewing() {
      if (renewal >= 0) {
        vertx.cancelTimer(renewal);
        renewal = -1;
      }
    }
  }

  private void flushOrder(Message<JsonObject> order) {
    String tenant = order.body().getString("tenant");
    String model = order.body().getString("model");
    int here = flushLocal(tenant, model);
    Future<Long> remote = shared == null ? Future.succeededFuture(0L) : shared.flush(CacheKey.pattern(tenant, model));
    remote.onComplete(done -> {
      // after Redis, so that no node refills its local layer from an entry about to go
      vertx.eventBus().publish(Addresses.CACHE_FLUSH_LOCAL, order.body());
      if (done.failed()) {
        order.fail(503, "the shared layer could not be flushed: " + ApiError.from(done.cause()).message());
        return;
      }
      order.reply(new JsonObject().put("tenant", tenant).put("model", model).put("local_entries_removed", here)
        .put("shared_entries_removed", done.result()).put("shared", shared != null));
    });
  }

  private int flushLocal(String tenant, String model) {
    int[] removed = {0};
    local.asMap().keySet().removeIf(id -> {
      boolean match = CacheKey.matches(id, tenant, model);
      if (match) {
        removed[0]++;
      }
      return match;
    });
    if (removed[0] > 0) {
      LOG.info("response cache: {} local entries flushed (tenant {}, model {})", removed[0],
        tenant == null ? "any" : tenant, model == null ? "any" : model);
    }
    return removed[0];
  }
}
