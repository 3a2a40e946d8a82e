package io.switchboard.governance;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.BusFailure;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.session.RedisConversationStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Keys, tenants and limits for one node, shared by its verticles: who a bearer key is ({@link #authenticate}: YAML
 * keys compared in constant time, admin-API keys by the SHA-256 of their secret through a short local cache), what it
 * may call ({@link #admit}: allow-lists, then RPM, TPM and budgets of the key and its tenant in one atomic check), and
 * what a turn used ({@link #settle}). Counters and admin keys live in Redis when {@code governance.store} is redis,
 * else in this node's memory. A change to a key or tenant is broadcast on the event bus, so every node drops its copy
 * at once (the cache's own expiry, {@code key_cache_ms}, bounds it anyway).
 */
public final class Governance {
  private static final Logger LOG = LoggerFactory.getLogger(Governance.class);
  /** Published (cluster-wide) when a key or tenant changes: body {@code {"hash": ...}} or {@code {"tenant": ...}}. */
  public static final String CHANGED = "switchboard.governance.changed";
  public static final String KEY_PREFIX = "sk-sb-";
  private static final long TENANT_REFRESH_MILLIS = 1_000;
  private static final Caller UNKNOWN = Caller.tenantOnly("-", 0);
  private static final HexFormat HEX = HexFormat.of();
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  });

  private record YamlKey(byte[] digest, Caller caller) {
  }

  private final Vertx vertx;
  private final SwitchboardConfig.Governance settings;
  private final MeterRegistry registry;
  /** What the configuration says of keys, tenants and deployments: swapped whole by {@link #apply}. */
  private volatile FromConfig fromConfig;
  private volatile Map<String, Tenant> adminTenants = Map.of();
  private final KeyStore store;
  private final RedisCounters shared;
  private final LocalCounters local = new LocalCounters();
  private final Cache<String, Caller> fresh;
  /** The last answer for every key seen: what keeps cached keys working while the store is unreachable. */
  private final Cache<String, Caller> lastKnown = Caffeine.newBuilder().maximumSize(100_000).build();
  private final Map<String, Counter> refusals = new ConcurrentHashMap<>();
  private final Map<String, Caller> bridgeCallers = new ConcurrentHashMap<>();
  private final Counter redisUnavailable;
  private final Prices prices;

  /**
   * @param upstreamModels   deployment id → the upstream's model name, for its price
   * @param deploymentLimits deployment id → its rpm_limit / tpm_limit
   */
  private record FromConfig(boolean authEnabled, List<YamlKey> yamlKeys, Map<String, Tenant> configTenants,
                            Set<String> tenantTags, Set<String> servedChatModels, Map<String, String> upstreamModels,
                            Map<String, Limits> deploymentLimits) {
    static FromConfig of(SwitchboardConfig config) {
      List<YamlKey> yamlKeys = new ArrayList<>();
      Map<String, Tenant> configTenants = new HashMap<>();
      Set<String> tenantTags = new HashSet<>();
      Set<String> servedChatModels = new LinkedHashSet<>();
      Map<String, String> upstreamModels = new HashMap<>();
      List<SwitchboardConfig.ApiKey> keys = config.auth().keys();
      for (int i = 0; i < keys.size(); i++) {
        SwitchboardConfig.ApiKey key = keys.get(i);
        yamlKeys.add(new YamlKey(sha256(key.key()), new Caller("yaml:" + i, key.keyAlias(), key.tenant(),
          key.priority(), key.models(), key.limits(), 0, null)));
        tenantTags.add(key.tenant());
      }
      for (Tenant tenant : config.governance().tenants()) {
        configTenants.put(tenant.name(), tenant);
        tenantTags.add(tenant.name());
      }
      config.imChannels().forEach(channel -> tenantTags.add(channel.tenant()));
      tenantTags.add("default");
      config.deployments().stream().filter(d -> !d.wholeCall()).forEach(d -> servedChatModels.add(d.modelName()));
      config.deployments().forEach(d -> upstreamModels.put(d.id(), d.upstreamModel()));
      return new FromConfig(config.auth().enabled(), List.copyOf(yamlKeys), Map.copyOf(configTenants),
        Set.copyOf(tenantTags), java.util.Collections.unmodifiableSet(servedChatModels), Map.copyOf(upstreamModels),
        config.governance().deploymentLimits());
    }
  }

  /** @param prices the node's prices (shared with the spend log): a turn's cost, added to the budgets */
  public Governance(Vertx vertx, SwitchboardConfig config, MeterRegistry registry, Prices prices) {
    this.vertx = vertx;
    this.settings = config.governance();
    this.registry = registry;
    this.fromConfig = FromConfig.of(config);
    this.prices = prices;
    this.fresh = Caffeine.newBuilder().maximumSize(100_000)
      .expireAfterWrite(Duration.ofMillis(Math.max(1, settings.keyCacheMillis()))).build();
    if (settings.shared()) {
      Redis redis = Redis.createClient(vertx, RedisConversationStore.options(settings.redisUrl()));
      this.store = new RedisKeyStore(vertx, redis);
      this.shared = new RedisCounters(vertx, redis, settings.redisTimeoutMillis());
    } else {
      this.store = new MemoryKeyStore();
      this.shared = null;
    }
    this.redisUnavailable = Counter.builder("switchboard.limits.redis_unavailable")
      .description("Limit checks Redis did not answer in time; decided by governance.on_redis_down")
      .register(registry);
  }

  /** Listens for key and tenant changes, loads the admin tenants, and opens the Redis connection before traffic. */
  public Future<Void> start() {
    Future<Void> listening = vertx.eventBus().<JsonObject>consumer(CHANGED, message -> changed(message.body()))
      .completion();
    vertx.setPeriodic(TENANT_REFRESH_MILLIS, t -> refreshTenants());
    if (vertx.isClustered() && !settings.shared()) {
      LOG.warn("governance.store is memory on a clustered node: admin-API keys and limit counters are this node's "
        + "own (each node counts its own limits); use governance.store: redis to share them");
    }
    Future<?> warm = shared == null ? Future.succeededFuture()
      : shared.load().otherwise(failure -> {
        LOG.warn("governance: Redis at start-up did not answer ({}); limits go by on_redis_down: {}",
          failure.getMessage(), settings.onRedisDown());
        return null;
      });
    return Future.all(listening, warm).compose(x -> refreshTenants().otherwiseEmpty()).mapEmpty();
  }

  /** The SockJS bridge's signed-in sockets (stream address → caller), shared by the node's connection instances. */
  public Map<String, Caller> bridgeCallers() {
    return bridgeCallers;
  }

  public KeyStore store() {
    return store;
  }

  public boolean authEnabled() {
    return fromConfig.authEnabled();
  }

  /**
   * A reloaded configuration's keys ({@code auth}), tenants, deployment limits, models and prices, for the next request;
   * a request that already authenticated goes on as the caller it was. Where the store lives needs a restart.
   */
  public void apply(SwitchboardConfig config) {
    fromConfig = FromConfig.of(config);
    prices.apply(config);
  }

  // ---- who a request acts for

  /**
   * The caller an {@code Authorization} header stands for; null when the key is missing, unknown, revoked or
   * expired. Fails (503) only when the key store cannot be reached and this node has never seen the key.
   */
  public Future<Caller> authenticate(String authorization) {
    if (!fromConfig.authEnabled()) {
      return Future.succeededFuture(Caller.ANONYMOUS);
    }
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Future.succeededFuture(null);
    }
    String presented = authorization.substring(7).trim();
    byte[] digest = sha256(presented);
    Caller match = null;
    for (YamlKey key : fromConfig.yamlKeys()) { // every digest compared, in constant time: timing says nothing of a guess
      if (MessageDigest.isEqual(key.digest, digest)) {
        match = key.caller;
      }
    }
    if (match != null) {
      return Future.succeededFuture(match);
    }
    if (!presented.startsWith(KEY_PREFIX)) {
      return Future.succeededFuture(null);
    }
    return byHash(HEX.formatHex(digest));
  }

  /** The same caller if its key still works (a socket's later turns: revoked or expired keys stop); else null. */
  public Future<Caller> recheck(Caller caller) {
    if (caller.keyHash() == null) {
      return Future.succeededFuture(caller);
    }
    return byHash(caller.keyHash());
  }

  private Future<Caller> byHash(String hash) {
    long now = System.currentTimeMillis();
    Caller cached = fresh.getIfPresent(hash);
    if (cached != null) {
      return Future.succeededFuture(cached == UNKNOWN || cached.expired(now) ? null : cached);
    }
    return store.byHash(hash).map(key -> {
      Caller caller = key == null ? UNKNOWN : key.caller();
      fresh.put(hash, caller);
      if (key == null) {
        lastKnown.invalidate(hash);
      } else {
        lastKnown.put(hash, caller);
      }
      return caller == UNKNOWN || caller.expired(now) ? null : caller;
    }).recover(failure -> {
      Caller known = lastKnown.getIfPresent(hash);
      if (known != null) {
        return Future.succeededFuture(known.expired(now) ? null : known);
      }
      LOG.warn("governance: key store unreachable ({}); an admin-API key this node has not seen is refused",
        failure.getMessage());
      return Future.failedFuture(ApiError.unavailable("The key store is unreachable; try again shortly.")
        .toException());
    });
  }

  private void changed(JsonObject change) {
    String hash = change.getString("hash");
    if (hash != null) {
      fresh.invalidate(hash);
      lastKnown.invalidate(hash);
    }
    if (change.containsKey("tenant")) {
      refreshTenants();
    }
  }

  /** Tells every node (this one included) that a key or tenant changed. */
  public void announce(JsonObject change) {
    changed(change);
    vertx.eventBus().publish(CHANGED, change);
  }

  private Future<Void> refreshTenants() {
    return store.tenants().map(list -> {
      Map<String, Tenant> next = new HashMap<>();
      list.forEach(t -> next.put(t.name(), t));
      adminTenants = next;
      return (Void) null;
    }).otherwise(failure -> null); // the last copy stays while the store is unreachable
  }

  /** A tenant's settings: from the config, else the admin API, else no limits. */
  public Tenant tenant(String name) {
    Tenant tenant = fromConfig.configTenants().get(name);
    if (tenant == null) {
      tenant = adminTenants.get(name);
    }
    return tenant != null ? tenant : Tenant.unlimited(name);
  }

  public Map<String, Tenant> configTenants() {
    return fromConfig.configTenants();
  }

  /** Whether the caller (its key's allow-list, and its tenant's) may call this public model. */
  public boolean allows(Caller caller, String model) {
    return caller.allows(model) && tenant(caller.tenant()).allows(model);
  }

  /** 403 {@code model_not_allowed} (counted) when the model is outside the key's or its tenant's allow-list. */
  public ApiError modelRefusal(Caller caller, String model) {
    if (allows(caller, model)) {
      return null;
    }
    refused("model", caller.tenant());
    return new ApiError(403, "invalid_request_error", "model_not_allowed",
      "This key may not use the model '" + echoed(model) + "'.", "model");
  }

  // ---- admission

  /** Tokens a turn reserves: its prompt (UTF-8 bytes / 4, rounded up) and the answer it may get. */
  public long estimate(List<ChatMessage> messages, JsonObject options) {
    long answer = settings.defaultMaxTokens();
    if (options != null) {
      Object max = options.getValue("max_completion_tokens");
      if (!(max instanceof Number)) {
        max = options.getValue("max_tokens");
      }
      if (max instanceof Number n && n.longValue() > 0) {
        answer = n.longValue();
      }
    }
    return promptTokens(messages) + answer;
  }

  /** A text's tokens, estimated as a prompt's are: its UTF-8 bytes / 4, rounded up. */
  public static long textTokens(String text) {
    return (utf8Length(text) + 3) / 4;
  }

  /** A prompt's tokens, estimated without a tokenizer: its UTF-8 bytes / 4, rounded up. */
  public static long promptTokens(List<ChatMessage> messages) {
    long bytes = 0;
    for (ChatMessage message : messages) {
      bytes += utf8Length(message.text()) + 4; // role and framing
    }
    return (bytes + 3) / 4;
  }

  /**
   * Admits a turn or refuses it: the key still works (401), the model is on both allow-lists (403
   * {@code model_not_allowed}), and the key's and tenant's RPM, TPM and budgets leave room (429). {@code limits}
   * hears the rate-limit state before the future completes, refusals included.
   */
  public Future<Admission> admit(Caller caller, String model, List<ChatMessage> messages, JsonObject options,
                                 Consumer<RateLimits> limits) {
    return admit(caller, model, () -> estimate(messages, options), limits);
  }

  /**
   * Admits a call that is not a chat turn (embeddings, moderations, transcriptions) as a turn is admitted: the key,
   * the allow-lists, the request and budget limits, and {@code reserve} tokens against a TPM limit (worked out only
   * when one applies); {@link #settle(Admission, String, JsonObject)} puts the real usage in their place.
   */
  public Future<Admission> admit(Caller caller, String model, LongSupplier reserve,
                                 Consumer<RateLimits> limits) {
    return recheck(caller).compose(current -> {
      if (current == null) {
        return Future.failedFuture(ApiError.invalidApiKey("The API key was revoked or has expired.").toException());
      }
      ApiError outside = modelRefusal(current, model);
      if (outside != null) {
        return Future.failedFuture(outside.toException());
      }
      List<Scope> scopes = scopes(current);
      boolean anyLimit = false;
      for (Scope scope : scopes) {
        anyLimit |= scope.limits().any();
      }
      boolean countsTokens = false;
      for (Scope scope : scopes) {
        countsTokens |= scope.limits().tpmLimit() > 0;
      }
      long reserved = countsTokens ? reserve.getAsLong() : 0; // nothing to reserve or settle without a TPM
      long now = System.currentTimeMillis();
      if (!anyLimit) {
        return Future.succeededFuture(new Admission(null, null, now, now / 1000, scopes,
          List.of(ScopeState.EMPTY, ScopeState.EMPTY).subList(0, scopes.size()), 0, shared == null));
      }
      return count(scopes, reserved, now, true).compose(admission -> {
        if (limits != null) {
          limits.accept(RateLimits.of(admission, System.currentTimeMillis()));
        }
        if (admission.admitted()) {
          return Future.succeededFuture(admission);
        }
        refused(admission.reason(), current.tenant());
        return Future.failedFuture(failure(refusal(admission), retryAfterMillis(admission,
          System.currentTimeMillis())));
      });
    });
  }

  /** The key's own scope (not for anonymous callers) and its tenant's. */
  List<Scope> scopes(Caller caller) {
    Tenant tenant = tenant(caller.tenant());
    Scope tenantScope = new Scope("tenant:" + tenant.name(), "tenant '" + tenant.name() + "'", tenant.limits());
    if (caller.keyId().equals(Caller.ANONYMOUS_ID)) {
      return List.of(tenantScope);
    }
    String label = caller.keyAlias() != null ? "key '" + caller.keyAlias() + "'" : "key " + caller.keyId();
    return List.of(new Scope("key:" + caller.keyId(), label, caller.limits()), tenantScope);
  }

  /** Counts in Redis, or by on_redis_down when it does not answer in time: this node's memory, or a 503. */
  Future<Admission> count(List<Scope> scopes, long reserve, long nowMillis, boolean count) {
    if (shared == null) {
      return local.admit(scopes, reserve, nowMillis, count);
    }
    return shared.admit(scopes, reserve, nowMillis, count).recover(failure -> {
      redisUnavailable.increment();
      if (settings.onRedisDown().equals("closed")) {
        return Future.failedFuture(ApiError.unavailable("Rate limits cannot be checked right now (their store is "
          + "unreachable); try again shortly.").toException());
      }
      LOG.debug("governance: limits counted on this node, Redis did not answer ({})", failure.getMessage());
      return local.admit(scopes, reserve, nowMillis, count);
    });
  }

  /** Settles a finished turn: the real tokens replace the reserved ones, its cost goes to the budgets. */
  public void settle(Admission admission, ChatResult result, boolean cacheHit) {
    if (admission == null || admission.scopes().isEmpty()) {
      return;
    }
    long used = 0;
    double usd = 0;
    if (result != null && !cacheHit) {
      used = result.usage() == null ? admission.reserved() : result.totalTokens();
      usd = result.usage() == null || result.deployment() == null ? 0
        : prices.costUsd(result.deployment(), fromConfig.upstreamModels().get(result.deployment()), result.usage());
    }
    settle(admission, used, usd);
  }

  /**
   * Settles a call that is not a chat turn from the usage its deployment reported (OpenAI's usage object: an
   * embedding's {@code prompt_tokens} / {@code total_tokens}); a call that failed ({@code deployment} null) used
   * nothing.
   */
  public void settle(Admission admission, String deployment, JsonObject usage) {
    if (admission == null || admission.scopes().isEmpty()) {
      return;
    }
    long used = 0;
    double usd = 0;
    if (deployment != null && usage != null) {
      used = usage.getLong("total_tokens", usage.getLong("prompt_tokens", 0L));
      usd = prices.costUsd(deployment, fromConfig.upstreamModels().get(deployment), usage);
    }
    settle(admission, used, usd);
  }

  private void settle(Admission admission, long used, double usd) {
    long delta = admission.reserved() > 0 ? used - admission.reserved() : 0;
    if (delta == 0 && usd <= 0) {
      return; // nothing to correct: no Redis call
    }
    Counters counters = admission.local() || shared == null ? local : shared;
    long tokenDelta = delta;
    double spent = usd;
    counters.settle(admission, tokenDelta, spent).onFailure(failure -> {
      LOG.warn("governance: a turn's usage could not be settled in Redis ({}); counted on this node",
        failure.getMessage());
      local.settle(admission, tokenDelta, spent);
    });
  }

  private ApiError refusal(Admission admission) {
    Scope scope = admission.refused();
    Limits limits = scope.limits();
    ScopeState state = admission.states().get(admission.scopes().indexOf(scope));
    long now = System.currentTimeMillis();
    return switch (admission.reason()) {
      case "rpm" -> new ApiError(429, "requests", "rate_limit_exceeded", "Rate limit reached for requests per minute "
        + "on " + scope.label() + ": limit " + limits.rpmLimit() + ", used " + state.requests()
        + ". Please try again in " + RateLimits.format(wait(state.oldestRequestSec(), now)) + ".", null);
      case "tpm" -> new ApiError(429, "tokens", "rate_limit_exceeded", "Rate limit reached for tokens per minute on "
        + scope.label() + ": limit " + limits.tpmLimit() + ", used " + state.tokens() + ", requested "
        + admission.reserved() + ". Please try again in " + RateLimits.format(wait(state.oldestTokenSec(), now))
        + ".", null);
      default -> new ApiError(429, "insufficient_quota", "insufficient_quota", "The budget of " + scope.label()
        + " is used up (" + limits.maxBudget() + " USD" + (limits.budgetDuration() == null ? ""
        : " per " + Limits.formatDuration(limits.budgetDuration())) + ")"
        + (limits.budgetDuration() == null ? "." : "; it resets at " + Instant.ofEpochMilli(scope.periodEnd(now)) + "."),
        null);
    };
  }

  /** Retry-After for a refusal, in millis (0: none, a budget that never resets). */
  public static long retryAfterMillis(Admission admission, long nowMillis) {
    Scope scope = admission.refused();
    ScopeState state = admission.states().get(admission.scopes().indexOf(scope));
    return switch (admission.reason()) {
      case "rpm" -> Math.max(1, wait(state.oldestRequestSec(), nowMillis));
      case "tpm" -> Math.max(1, wait(state.oldestTokenSec(), nowMillis));
      default -> scope.limits().budgetDuration() == null ? 0 : Math.max(1, scope.periodEnd(nowMillis) - nowMillis);
    };
  }

  private static long wait(long oldestSec, long nowMillis) {
    return oldestSec == 0 ? 1000 : Math.max(0, (oldestSec + 60) * 1000 - nowMillis);
  }

  private void refused(String reason, String tenant) {
    String tag = fromConfig.tenantTags().contains(tenant) ? tenant : "other";
    refusals.computeIfAbsent(reason + ' ' + tag, k -> Counter.builder("switchboard.limits.refused")
      .description("Turns refused by a key's or tenant's limits or allow-lists").tag("reason", reason)
      .tag("tenant", tag).register(registry)).increment();
  }

  // ---- per-deployment limits (routing)

  /** Admits one attempt on a deployment with rpm_limit / tpm_limit: a refusal means "try another". */
  public Future<Admission> admitDeployment(String deploymentId, long reserve) {
    Limits limits = fromConfig.deploymentLimits().get(deploymentId);
    if (limits == null) {
      return Future.succeededFuture(Admission.FREE);
    }
    List<Scope> scopes = List.of(new Scope("deployment:" + deploymentId, "deployment " + deploymentId, limits));
    return count(scopes, reserve, System.currentTimeMillis(), true);
  }

  /** An attempt on a limited deployment ended: its real tokens replace the reserved ones (no cost: not a budget). */
  public void settleDeployment(Admission admission, ChatResult result) {
    if (admission.reserved() <= 0) {
      return;
    }
    long used = result == null ? 0 : result.usage() == null ? admission.reserved() : result.totalTokens();
    long delta = used - admission.reserved();
    if (delta != 0) {
      (admission.local() || shared == null ? local : shared).settle(admission, delta, 0)
        .onFailure(failure -> local.settle(admission, delta, 0));
    }
  }

  public boolean limitsDeployments() {
    return !fromConfig.deploymentLimits().isEmpty();
  }

  // ---- self-service

  /** {@code GET /v1/key/info}: the caller's key, limits, what remains of them and its spend this period. */
  public Future<JsonObject> keyInfo(Caller caller) {
    List<Scope> scopes = scopes(caller);
    long now = System.currentTimeMillis();
    return count(scopes, 0, now, false).map(admission -> {
      RateLimits rates = RateLimits.of(admission, now);
      Double budgetLeft = null;
      for (int i = 0; i < scopes.size(); i++) {
        Double max = scopes.get(i).limits().maxBudget();
        if (max != null) {
          double left = Math.max(0, max - admission.states().get(i).spendUsd());
          budgetLeft = budgetLeft == null ? left : Math.min(budgetLeft, left);
        }
      }
      Scope own = scopes.get(0);
      long start = own.periodStart(now);
      long end = own.periodEnd(now);
      JsonArray models = new JsonArray();
      fromConfig.servedChatModels().stream().filter(m -> allows(caller, m)).forEach(models::add);
      return new JsonObject().put("key_alias", caller.keyAlias()).put("tenant", caller.tenant())
        .put("models", models)
        .put("limits", caller.limits().toJson(new JsonObject()))
        .put("remaining", new JsonObject()
          .put("requests", rates.remainingRequests() < 0 ? null : rates.remainingRequests())
          .put("tokens", rates.remainingTokens() < 0 ? null : rates.remainingTokens())
          .put("budget_usd", budgetLeft))
        .put("spend", new JsonObject().put("cost_usd", admission.states().get(0).spendUsd())
          .put("period_start", end == 0 ? null : Instant.ofEpochMilli(start).toString())
          .put("period_end", end == 0 ? null : Instant.ofEpochMilli(end).toString()));
    });
  }

  /** A key's spend in its current budget period (the admin API's list). */
  public Future<Double> spend(VirtualKey key) {
    List<Scope> scopes = List.of(new Scope("key:" + key.id(), "key", key.limits()));
    return count(scopes, 0, System.currentTimeMillis(), false).map(a -> a.states().get(0).spendUsd());
  }

  // ---- helpers

  static byte[] sha256(String text) {
    MessageDigest digest = SHA256.get();
    digest.reset();
    return digest.digest(text.getBytes(StandardCharsets.UTF_8));
  }

  static String sha256Hex(String text) {
    return HEX.formatHex(sha256(text));
  }

  private static String echoed(String model) {
    return model != null && model.length() > ApiError.MAX_ECHOED_MODEL_CHARS
      ? model.substring(0, ApiError.MAX_ECHOED_MODEL_CHARS) + "…" : model;
  }

  private static long utf8Length(String text) {
    long bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x80) {
        bytes++;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  /** A refusal as the failure a channel reports (with Retry-After). */
  static Throwable failure(ApiError error, long retryAfterMillis) {
    return new BusFailure(error, false, retryAfterMillis, 0, "").toException();
  }
}
