package io.switchboard.config;

import io.switchboard.governance.Limits;
import io.switchboard.governance.Tenant;
import io.switchboard.simulator.SimulatorKnobs;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/** The whole validated configuration of one node. Built by {@link ConfigLoader}; immutable. */
public record SwitchboardConfig(Server server, Management management, Auth auth, Simulator simulator,
                                List<Deployment> deployments, Map<String, Route> routes, Session session,
                                Cluster cluster, Set<String> verticles, List<ImChannel> imChannels,
                                Bridge bridge, Cache cache, Governance governance, SpendLog spendLog,
                                Overload overload, Guardrails guardrails, ImWork imWork) {

  public static final Set<String> VERTICLES = Set.of("connection", "session", "routing", "inference-proxy",
    "monitoring");

  public SwitchboardConfig {
    deployments = List.copyOf(deployments);
    routes = Map.copyOf(routes);
    verticles = Set.copyOf(verticles);
    imChannels = List.copyOf(imChannels);
  }

  /** How a model is routed; a model with no entry under {@code routes} gets {@link Route#defaults}. */
  public Route route(String model) {
    Route route = routes.get(model);
    return route != null ? route : Route.defaults(model);
  }

  public boolean runs(String verticle) {
    return verticles.contains(verticle);
  }

  /**
   * The public API port.
   *
   * @param headerReadTimeoutMillis a request whose head has not arrived this long after its first byte gets 408
   * @param idleTimeoutMillis       a keep-alive connection with no request in flight is closed after this long
   * @param eventLoops              the node's event loops; 0 = one per core (Vert.x's own default is two per core)
   * @param maxAudioBytes           the largest audio upload {@code /v1/audio/transcriptions} takes (OpenAI's 25 MB)
   * @param drainDelayMillis        on SIGTERM, how long {@code /ready} says 503 while the node still accepts new
   *                                connections, so a load balancer stops sending them before the port closes
   * @param transport               the sockets' I/O: {@code epoll} or {@code io_uring} (Linux, native), {@code nio}
   *                                (the JDK's), or {@code auto}: epoll where it loads, else NIO
   * @param webSocketCompression    whether a WebSocket may negotiate permessage-deflate (RFC 7692), as browsers offer:
   *                                each such socket then keeps a zlib compressor and decompressor for its whole life
   *                                (~108 KB more resident memory a socket), and every HTTP/1 connection passes through
   *                                one more pipeline handler; off, clients fall back to uncompressed frames
   */
  public record Server(String host, int port, int instances, long maxBodyBytes, long requestTimeoutMillis,
                       long slowClientTimeoutMillis, long webSocketIdleTimeoutMillis, long headerReadTimeoutMillis,
                       long idleTimeoutMillis, int eventLoops, long maxAudioBytes, long drainDelayMillis,
                       String transport, boolean webSocketCompression) {
    /** How many event loops the node runs: as configured, else one per core. */
    public int eventLoopCount() {
      return eventLoops > 0 ? eventLoops : Runtime.getRuntime().availableProcessors();
    }
  }

  /**
   * Where /metrics, /health, /ready and the admin API are served (kept off the public port).
   *
   * @param adminToken bearer token for /admin/*; null disables the admin API. toString never shows it.
   * @param headerReadTimeoutMillis, idleTimeoutMillis as for {@link Server}
   * @param eventBusMetrics   whether Vert.x's own event bus meters ({@code vertx_eventbus_*}) are kept: they are
   *                          updated on every message, stream chunks included
   * @param httpClientMetrics whether Vert.x's own HTTP client meters ({@code vertx_http_client_*}, per upstream
   *                          host) are kept; {@code switchboard_upstream_*} covers every deployment without them
   * @param httpServerMetrics whether Vert.x's own HTTP server meters ({@code vertx_http_server_*}) are kept: looked up
   *                          per request, and {@code switchboard_chat_requests_seconds} / {@code _http_requests_seconds}
   *                          count every request without them
   */
  public record Management(String host, int port, String adminToken, long headerReadTimeoutMillis,
                           long idleTimeoutMillis, boolean eventBusMetrics, boolean httpClientMetrics,
                           boolean httpServerMetrics) {
    @Override
    public String toString() {
      return "Management[host=" + host + ", port=" + port + ", admin=" + (adminToken != null) + "]";
    }
  }

  /** Every request header a route rule matches on (lower-case): the connection hands these, and only these, on. */
  public Set<String> routeHeaders() {
    Set<String> names = new TreeSet<>();
    routes.values().forEach(route -> route.rules().forEach(rule -> names.addAll(rule.headers().keySet())));
    return Set.copyOf(names);
  }

  /**
   * Routing of one public model.
   *
   * @param strategy        weighted | least-outstanding | latency | affinity
   * @param fallbacks       other models to try, in order, when every deployment of this one fails
   * @param numRetries      extra attempts on this model's deployments before moving to a fallback
   * @param hedgeAfterMillis start a second attempt when no first token came this soon; 0 = never
   * @param maxQueued       turns that may wait for a free deployment slot; beyond that, 429
   * @param maxQueueWaitMillis how long a turn may wait for a slot; beyond that, 503
   * @param contextTokens    conversation memory sent upstream is trimmed to this many tokens (system prompt
   *                         and newest turn always kept)
   * @param cache            the response cache for this model; null = answers are not cached
   * @param rules            which deployments serve a turn by what it needs ({@code rules:}); empty = any of them
   * @param overloadSkips    optional work given up under overload, in order ({@code overload_skips:})
   */
  public record Route(String model, String strategy, List<String> fallbacks, int numRetries, long retryBaseMillis,
                      long retryMaxMillis, long hedgeAfterMillis, int maxQueued, long maxQueueWaitMillis,
                      int contextTokens, RouteCache cache, List<RouteRule> rules, List<String> overloadSkips,
                      List<String> guardrails) {
    public static final Set<String> STRATEGIES = Set.of("weighted", "least-outstanding", "latency", "affinity");
    /** Optional work a turn may go without under overload ({@code overload_skips}). */
    public static final String CACHE_FILL = "cache_fill";
    public static final String MEMORY_WRITE = "memory_write";
    public static final Set<String> OPTIONAL_WORK = Set.of(CACHE_FILL, MEMORY_WRITE);

    public Route {
      fallbacks = List.copyOf(fallbacks);
      rules = List.copyOf(rules);
      overloadSkips = List.copyOf(overloadSkips);
      guardrails = List.copyOf(guardrails);
    }

    public static Route defaults(String model) {
      return new Route(model, "weighted", List.of(), 2, 100, 2_000, 0, 1_000, 10_000, 16_000, null, List.of(),
        List.of(CACHE_FILL), List.of());
    }

    /**
     * Whether a turn skips this optional work at the node's overload level: at level 1 the first item of
     * {@code overload_skips}, from level 2 on all of them.
     */
    public boolean skips(String work, int level) {
      int at = overloadSkips.indexOf(work);
      return at >= 0 && level >= 1 && (level >= 2 || at == 0);
    }
  }

  /**
   * One of a route's {@code rules}: a turn that meets every condition set here is served only by these deployments
   * of the model (the strategy chooses among them); the first rule a turn meets wins, and a turn that meets none may
   * go to any of the model's deployments.
   *
   * @param promptTokensOver the prompt's estimated tokens (UTF-8 bytes / 4) exceed this; -1: not a condition
   * @param images           the messages hold an image part (true) or none (false); null: not a condition
   * @param tools            the request offers {@code tools} (or legacy {@code functions}); null: not a condition
   * @param tenants          the turn's tenant is one of these; empty: not a condition
   * @param headers          the request carries each of these headers (lower-case name) with this value; empty: not
   *                         a condition
   * @param deployments      the deployment ids that serve a turn meeting the rule
   */
  public record RouteRule(long promptTokensOver, Boolean images, Boolean tools, Set<String> tenants,
                          Map<String, String> headers, List<String> deployments) {
    public RouteRule {
      tenants = Set.copyOf(tenants);
      headers = Map.copyOf(headers);
      deployments = List.copyOf(deployments);
      if (deployments.isEmpty()) {
        throw new IllegalArgumentException("a rule needs deployments");
      }
      if (promptTokensOver < 0 && images == null && tools == null && tenants.isEmpty() && headers.isEmpty()) {
        throw new IllegalArgumentException("a rule needs a condition");
      }
    }
  }

  /**
   * The guardrail policies ({@code guardrails:}) and which tenants use which ({@code tenants[].guardrails}); routes
   * name theirs in {@link Route#guardrails}.
   */
  public record Guardrails(List<Guardrail> policies, Map<String, List<String>> byTenant) {
    public static final Guardrails NONE = new Guardrails(List.of(), Map.of());

    public Guardrails {
      policies = List.copyOf(policies);
      byTenant = Map.copyOf(byTenant);
    }
  }

  /**
   * One guardrail policy: a check and what to do when it matches.
   *
   * @param type        words | pii | moderation
   * @param on          the stages it checks: input (what the client sent), output (the answer)
   * @param action      block | redact | flag (counted and logged by policy name only)
   * @param words       the words (a words policy): its words file's lines and its inline {@code words}
   * @param detectors   the built-in PII detectors (a pii policy)
   * @param patterns    the operator's own regexes (a pii policy)
   * @param placeholder what a redacted word is replaced with (a words policy)
   * @param model       the moderation model, routed through the gateway ({@code POST /v1/moderations}); or
   * @param url         an operator's moderation endpoint speaking OpenAI's moderation shape
   * @param onError     allow | block: what a moderation call that failed or timed out means
   * @param windowChars how much streamed text is held back so a match split across chunks is caught
   */
  public record Guardrail(String name, String type, Set<String> on, String action, List<String> words,
                          List<String> detectors, List<PiiPattern> patterns, String placeholder, String model,
                          String url, long timeoutMillis, String onError, int windowChars) {
    public static final Set<String> TYPES = Set.of("words", "pii", "moderation");
    public static final Set<String> STAGES = Set.of("input", "output");
    public static final Set<String> ACTIONS = Set.of("block", "redact", "flag");
    public static final Set<String> ON_ERROR = Set.of("allow", "block");

    public Guardrail {
      on = Set.copyOf(on);
      words = List.copyOf(words);
      detectors = List.copyOf(detectors);
      patterns = List.copyOf(patterns);
    }

    public boolean checks(String stage) {
      return on.contains(stage);
    }

    @Override
    public String toString() {
      return "Guardrail[name=" + name + ", type=" + type + ", on=" + on + ", action=" + action + "]";
    }
  }

  /** An operator's PII regex ({@code patterns: [{name, regex, placeholder}]}). */
  public record PiiPattern(String name, String regex, String placeholder) {
  }

  /**
   * A route's response cache ({@code routes[].cache}).
   *
   * @param ttlSeconds how long an answer is served again
   * @param toolCalls  whether answers that call tools are stored too (an agent's step is usually not worth repeating)
   */
  public record RouteCache(long ttlSeconds, boolean toolCalls) {
    public RouteCache {
      if (ttlSeconds < 1) {
        throw new IllegalArgumentException("ttlSeconds must be at least 1");
      }
    }
  }

  /**
   * The response cache's layers, shared by every route that turns it on.
   *
   * @param store          local (this node's memory only) or redis (the local layer in front of a shared one)
   * @param redisUrl       the shared layer's Redis
   * @param maxLocalBytes  the local layer's bound (entries weighed by their size)
   * @param maxEntryBytes  answers bigger than this are not stored
   * @param lockMillis     how long a node's claim on computing an answer lasts without being renewed (a node that
   *                       died holding it is waited for this long at most)
   */
  public record Cache(String store, String redisUrl, long maxLocalBytes, long maxEntryBytes, long lockMillis) {
    public static final Set<String> STORES = Set.of("local", "redis");

    public boolean shared() {
      return store.equals("redis");
    }

    @Override
    public String toString() {
      return "Cache[store=" + store + ", maxLocalBytes=" + maxLocalBytes + ", maxEntryBytes=" + maxEntryBytes + "]";
    }
  }

  /**
   * Where every turn's spend row goes ({@code spend_log:}).
   *
   * @param store         memory (a bounded ring of this node's last rows) or postgres (a table, written in batches)
   * @param postgresUrl   {@code postgresql://user:pass@host:port/db}; toString never shows the password
   * @param batchSize     rows per INSERT; a full batch is written at once, a partial one every flushMillis
   * @param maxMemoryRows the memory ring's size; for postgres, the rows kept waiting while the database is out of
   *                      reach (beyond that new rows are dropped and counted)
   */
  public record SpendLog(String store, String postgresUrl, int batchSize, long flushMillis, int maxMemoryRows) {
    public static final Set<String> STORES = Set.of("memory", "postgres");

    public boolean postgres() {
      return store.equals("postgres");
    }

    @Override
    public String toString() {
      return "SpendLog[store=" + store + (postgresUrl == null ? "" : ", postgres="
        + postgresUrl.replaceFirst("//([^:@/]*):[^@/]*@", "//$1:***@")) + ", batchSize=" + batchSize
        + ", flushMillis=" + flushMillis + ", maxMemoryRows=" + maxMemoryRows + "]";
    }
  }

  /** Whether any route caches answers. */
  public boolean caches() {
    return routes.values().stream().anyMatch(r -> r.cache() != null);
  }

  public record Auth(boolean enabled, List<ApiKey> keys) {
    public Auth {
      keys = List.copyOf(keys);
    }
  }

  /**
   * A client key from the YAML and the tenant it stands for, with its own allow-list ({@code models}; empty = all)
   * and limits. toString never shows the key.
   */
  public record ApiKey(String key, String tenant, int priority, String keyAlias, Set<String> models, Limits limits) {
    public ApiKey {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(tenant, "tenant");
      models = Set.copyOf(models);
      Objects.requireNonNull(limits, "limits");
    }

    public ApiKey(String key, String tenant, int priority) {
      this(key, tenant, priority, null, Set.of(), Limits.NONE);
    }

    @Override
    public String toString() {
      return "ApiKey[tenant=" + tenant + ", alias=" + keyAlias + ", priority=" + priority + "]";
    }
  }

  /**
   * Keys, tenants and limits ({@code governance:} and {@code tenants:}).
   *
   * @param store              where admin-API keys, admin tenants and the limit counters live: memory (this node only)
   *                           or redis (every node)
   * @param onRedisDown        local (limits counted per node, same numbers) or closed (turns refused with 503)
   * @param defaultMaxTokens   tokens a turn reserves for its answer when it asks for no max_tokens
   * @param redisTimeoutMillis a limit check Redis has not answered by then goes by the onRedisDown policy
   * @param keyCacheMillis     how long a node trusts its copy of an admin-API key (a revocation is also broadcast)
   * @param tenants            tenants from the YAML
   * @param deploymentLimits   deployment id → its rpm_limit / tpm_limit (only deployments that set one)
   */
  public record Governance(String store, String redisUrl, String onRedisDown, int defaultMaxTokens,
                           long redisTimeoutMillis, long keyCacheMillis, List<Tenant> tenants,
                           Map<String, Limits> deploymentLimits) {
    public static final Set<String> STORES = Set.of("memory", "redis");
    public static final Set<String> ON_REDIS_DOWN = Set.of("local", "closed");

    public Governance {
      tenants = List.copyOf(tenants);
      deploymentLimits = Map.copyOf(deploymentLimits);
    }

    public boolean shared() {
      return store.equals("redis");
    }

    @Override
    public String toString() {
      return "Governance[store=" + store + ", onRedisDown=" + onRedisDown + ", tenants=" + tenants.size() + "]";
    }
  }

  /** The built-in OpenAI-compatible upstream, started on loopback when a deployment uses it. */
  /** @param moderationWords the simulator's moderation model flags an input holding one of these (case-insensitive) */
  public record Simulator(String host, int port, SimulatorKnobs defaults, List<String> moderationWords) {
    public Simulator {
      moderationWords = List.copyOf(moderationWords);
    }
  }

  /**
   * One way to serve a public model: a provider at a base URL with its keys.
   *
   * @param apiBase null for the built-in simulator, whose address is known only once it listens
   * @param pool    the HTTP client's connections to the provider and the bounded wait for them
   * @param knobs   the simulator's behaviour for this deployment (null unless provider is simulator)
   * @param mode    what the model does, as LiteLLM's {@code model_info.mode}: {@link #CHAT}, {@link #EMBEDDING} or
   *                {@link #AUDIO_TRANSCRIPTION}
   * @param price   what its tokens cost ({@code price:}); null = the bundled table's price of its upstream model
   * @param cloud   the settings of a cloud provider (azure, bedrock); {@link Cloud#NONE} for the others
   * @param adaptive its adaptive concurrency limit ({@code adaptive_concurrency:}); null = only max_concurrency
   */
  public record Deployment(String id, String modelName, String provider, String apiBase, List<String> apiKeys,
                           String upstreamModel, int weight, long timeoutMillis, long connectTimeoutMillis,
                           long firstTokenTimeoutMillis, long idleTimeoutMillis, Pool pool,
                           int maxConcurrency, SimulatorKnobs knobs, Breaker breaker, String mode, Price price,
                           Cloud cloud, AdaptiveConcurrency adaptive) {
    public static final String CHAT = "chat";
    public static final String EMBEDDING = "embedding";
    public static final String MODERATION = "moderation";
    public static final String AUDIO_TRANSCRIPTION = "audio_transcription";
    public static final Set<String> MODES = Set.of(CHAT, EMBEDDING, MODERATION, AUDIO_TRANSCRIPTION);
    /** Providers that speak OpenAI's embeddings (and moderations, and audio transcriptions) APIs. */
    public static final Set<String> EMBEDDING_PROVIDERS = Set.of("openai", "simulator", "azure");

    public Deployment {
      apiKeys = List.copyOf(apiKeys);
      Objects.requireNonNull(pool, "pool");
      Objects.requireNonNull(cloud, "cloud");
      if (!MODES.contains(mode)) {
        throw new IllegalArgumentException("mode must be one of " + MODES + ", was " + mode);
      }
    }

    /** A chat deployment over HTTP/1.1 with {@code maxConnections} connections and the default pool queue. */
    public Deployment(String id, String modelName, String provider, String apiBase, List<String> apiKeys,
                      String upstreamModel, int weight, long timeoutMillis, long connectTimeoutMillis,
                      long firstTokenTimeoutMillis, long idleTimeoutMillis, int maxConnections,
                      int maxConcurrency, SimulatorKnobs knobs, Breaker breaker) {
      this(id, modelName, provider, apiBase, apiKeys, upstreamModel, weight, timeoutMillis, connectTimeoutMillis,
        firstTokenTimeoutMillis, idleTimeoutMillis, Pool.http1(maxConnections), maxConcurrency, knobs, breaker, CHAT,
        null, Cloud.NONE, null);
    }

    /** Whether this deployment serves {@code POST /v1/audio/transcriptions} (and nothing else). */
    public boolean transcription() {
      return mode.equals(AUDIO_TRANSCRIPTION);
    }

    /** Whether this deployment serves {@code POST /v1/embeddings} (and not chat). */
    public boolean embedding() {
      return mode.equals(EMBEDDING);
    }

    /** Whether this deployment serves {@code POST /v1/moderations} (and not chat). */
    public boolean moderation() {
      return mode.equals(MODERATION);
    }

    /** A deployment called whole through the embeddings door (embeddings or moderations), never for chat. */
    public boolean wholeCall() {
      return !mode.equals(CHAT);
    }

    public boolean isSimulator() {
      return provider.equals("simulator");
    }

    /** Who serves this model, as /v1/models shows it. */
    public String ownedBy() {
      return isSimulator() ? "switchboard-simulator" : provider.equals("bridge") ? "bridge-worker" : provider;
    }

    @Override
    public String toString() {
      return "Deployment[id=" + id + ", model=" + modelName + ", provider=" + provider + ", keys="
        + apiKeys.size() + ", mode=" + mode + "]";
    }
  }

  /**
   * What a cloud provider needs beyond a base URL and keys. Azure OpenAI: the deployment in the URL path, the
   * {@code api-version} query, an Entra ID bearer token instead of keys. Bedrock: the region requests are signed
   * for, and static credentials (null: the AWS SDK's default chain). Secrets never appear in {@link #toString}.
   */
  public record Cloud(String azureDeployment, String apiVersion, String azureAdToken, String awsRegion,
                      String awsAccessKeyId, String awsSecretAccessKey, String awsSessionToken) {
    public static final Cloud NONE = new Cloud(null, null, null, null, null, null, null);

    @Override
    public String toString() {
      return "Cloud[azureDeployment=" + azureDeployment + ", apiVersion=" + apiVersion + ", awsRegion=" + awsRegion
        + ", staticAwsCredentials=" + (awsAccessKeyId != null) + "]";
    }
  }

  /**
   * A deployment's prices in USD per million tokens ({@code price:}).
   *
   * @param cachedInputPerMillion prompt tokens the provider served from its prompt cache
   *                              ({@code prompt_tokens_details.cached_tokens}); the input price when not set
   */
  public record Price(double inputPerMillion, double outputPerMillion, double cachedInputPerMillion) {
    public Price {
      if (!(inputPerMillion >= 0 && outputPerMillion >= 0 && cachedInputPerMillion >= 0)) {
        throw new IllegalArgumentException("prices must not be negative");
      }
    }
  }

  /**
   * How a node judges itself overloaded ({@code overload:}). Each signal has three thresholds, for levels 1, 2 and 3;
   * the node's level is the highest any signal reaches. It rises at once and falls one level at a time, once every
   * signal has stayed below {@link #CALM_SHARE} of the current level's threshold for {@code calmMillis}.
   *
   * @param checkMillis       how often the node measures itself
   * @param loopDelayMillis   event-loop delay: how late a periodic timer fires (the mean of the last ten checks, so
   *                          one GC pause does not count as overload)
   * @param queued            turns waiting in this node's admission queues
   * @param heapPercent       heap in use after the last garbage collection, in percent of the maximum
   * @param calmMillis        how long the signals must stay calm before the level falls by one
   * @param shedBelowPriority at level 3, new turns of a lower priority are refused (503 overloaded); 0 (the
   *                          default) refuses none: turns still wait by priority
   */
  public record Overload(boolean enabled, long checkMillis, List<Long> loopDelayMillis, List<Long> queued,
                         List<Long> heapPercent, long calmMillis, int shedBelowPriority) {
    public static final double CALM_SHARE = 0.8;
    public static final Overload DEFAULTS = new Overload(true, 100, List.of(100L, 500L, 2_000L),
      List.of(200L, 1_000L, 5_000L), List.of(75L, 85L, 95L), 5_000, 0);

    public Overload {
      loopDelayMillis = List.copyOf(loopDelayMillis);
      queued = List.copyOf(queued);
      heapPercent = List.copyOf(heapPercent);
    }
  }

  /**
   * A deployment's adaptive concurrency limit ({@code adaptive_concurrency:}): how many calls this node's router
   * lets it have at once, following its measured time to first token (Netflix's concurrency-limits).
   *
   * @param algorithm    {@link #GRADIENT}: Gradient2, the limit follows the ratio of the long-term to the recent
   *                     latency; {@link #AIMD}: +1 while calls are fast and the limit is used, times
   *                     {@code backoffRatio} on a call slower than {@code latencyMillis} or failed by overload
   * @param latencyMillis AIMD's slow-call line
   */
  public record AdaptiveConcurrency(String algorithm, int initialLimit, int minLimit, int maxLimit, long latencyMillis,
                                    double backoffRatio) {
    public static final String GRADIENT = "gradient";
    public static final String AIMD = "aimd";

    public AdaptiveConcurrency {
      if (!algorithm.equals(GRADIENT) && !algorithm.equals(AIMD)) {
        throw new IllegalArgumentException("algorithm must be gradient or aimd, was " + algorithm);
      }
      if (minLimit < 1 || minLimit > initialLimit || initialLimit > maxLimit) {
        throw new IllegalArgumentException("limits must satisfy 1 <= min <= initial <= max");
      }
    }
  }

  /**
   * Circuit breaker settings of a deployment ({@code circuit_breaker:}).
   *
   * @param policy                {@link #RATE}: open on the failure rate or the slow-call rate over a rolling window of
   *                              the last {@code windowCalls} calls (or of the last {@code windowSeconds} seconds);
   *                              {@link #CONSECUTIVE}: open after {@code maxFailures} failures in a row
   * @param windowCalls           a count-based window's size; 0 when the window is time-based
   * @param windowSeconds         a time-based window's length; 0 when the window is count-based
   * @param minimumCalls          calls the window must hold before a rate is judged
   * @param failureRateThreshold  percent of failed calls that opens the circuit
   * @param slowCallMillis        a call whose first token came later than this is slow; 0: no call is slow
   * @param slowCallRateThreshold percent of slow calls that opens the circuit
   * @param halfOpenCalls         probe calls let through once the reset time has passed; the others are refused
   * @param resetTimeoutMillis    how long the circuit stays open before it probes
   */
  public record Breaker(String policy, int maxFailures, int windowCalls, int windowSeconds, int minimumCalls,
                        float failureRateThreshold, long slowCallMillis, float slowCallRateThreshold,
                        int halfOpenCalls, long resetTimeoutMillis) {
    public static final String RATE = "rate";
    public static final String CONSECUTIVE = "consecutive";

    public Breaker {
      if (!policy.equals(RATE) && !policy.equals(CONSECUTIVE)) {
        throw new IllegalArgumentException("policy must be rate or consecutive, was " + policy);
      }
      if ((windowCalls > 0) == (windowSeconds > 0) && policy.equals(RATE)) {
        throw new IllegalArgumentException("a rate breaker needs exactly one of windowCalls and windowSeconds");
      }
    }

    /** The consecutive-failures breaker: open after {@code maxFailures} failures in a row, one probe. */
    public Breaker(int maxFailures, long resetTimeoutMillis) {
      this(CONSECUTIVE, maxFailures, 0, 0, maxFailures, 100, 0, 100, 1, resetTimeoutMillis);
    }
  }

  /**
   * A deployment's HTTP client pool. A call takes a slot (an HTTP/1.1 connection, or one stream of an HTTP/2
   * connection) for its whole length; with every slot taken it waits, in a bounded queue and for a bounded time.
   *
   * @param http2           speak HTTP/2: prior knowledge (h2c) on {@code http://}, ALPN on {@code https://}
   * @param maxConnections  connections to the provider
   * @param http2MaxStreams calls one HTTP/2 connection carries at once (fewer when the provider says fewer)
   * @param maxWaiting      calls that may wait for a slot; beyond that, 429
   * @param maxWaitMillis   how long a call may wait for a slot; beyond that, 503
   */
  public record Pool(boolean http2, int maxConnections, int http2MaxStreams, int maxWaiting, long maxWaitMillis) {
    public static final int DEFAULT_EXPECTED_CONCURRENCY = 1_000;
    public static final int DEFAULT_HTTP2_MAX_STREAMS = 100;
    public static final int DEFAULT_MAX_WAITING = 1_000;
    public static final long DEFAULT_MAX_WAIT_MILLIS = 1_000;

    public Pool {
      if (maxConnections < 1 || http2MaxStreams < 1 || maxWaiting < 0 || maxWaitMillis < 1) {
        throw new IllegalArgumentException("pool sizes must be positive (max_waiting may be 0)");
      }
    }

    public static Pool http1(int maxConnections) {
      return new Pool(false, maxConnections, DEFAULT_HTTP2_MAX_STREAMS, DEFAULT_MAX_WAITING, DEFAULT_MAX_WAIT_MILLIS);
    }

    /**
     * Connections for a deployment expected to carry {@code concurrency} calls at once: one per call over HTTP/1.1,
     * enough of {@code http2MaxStreams} streams each over HTTP/2.
     */
    public static int connectionsFor(int concurrency, boolean http2, int http2MaxStreams) {
      return http2 ? Math.max(1, (concurrency + http2MaxStreams - 1) / http2MaxStreams) : Math.max(1, concurrency);
    }

    /** Calls in flight at once: the connections, times the streams each carries over HTTP/2. */
    public int slots() {
      return http2 ? (int) Math.min(Integer.MAX_VALUE, (long) maxConnections * http2MaxStreams) : maxConnections;
    }
  }

  /**
   * One company's bot on an IM platform. Its webhook is {@code /im/<platform>/<name>}.
   *
   * @param platform    wecom | dingtalk | feishu
   * @param tenant      whose conversations (and quota) the bot's chats are
   * @param model       the public model the bot asks
   * @param apiBase     the platform's API base URL (its real one by default; tests point it at a fake)
   * @param credentials the platform's secrets by their documented names; never logged
   * @param transcriptionModel the public model (mode audio_transcription) voice messages are transcribed with;
   *                    null: a voice message without the platform's own recognition gets a polite "please type"
   */
  /**
   * Where answers to IM messages are worked on: {@code redis}, a Redis Stream every node consumes (an accepted message
   * survives the node that accepted it), or {@code memory}, the accepting node's own memory (lost with it).
   *
   * @param claimIdleMillis a job whose node has not touched it this long is taken over by another node
   * @param maxAttempts     runs of one job (crashes of the node running it included) before it goes to dead letters
   * @param maxInFlight     jobs one connection verticle instance works on at once
   */
  public record ImWork(String queue, String redisUrl, long claimIdleMillis, int maxAttempts, int maxInFlight) {
    public static final Set<String> QUEUES = Set.of("redis", "memory");

    public boolean durable() {
      return queue.equals("redis");
    }

    @Override
    public String toString() {
      return "ImWork[queue=" + queue + ", claimIdleMillis=" + claimIdleMillis + ", maxAttempts=" + maxAttempts
        + ", maxInFlight=" + maxInFlight + "]";
    }
  }

  public record ImChannel(String name, String platform, String tenant, String model, String apiBase,
                          Map<String, String> credentials, String transcriptionModel) {
    public static final Set<String> PLATFORMS = Set.of("wecom", "dingtalk", "feishu");

    public ImChannel {
      credentials = Map.copyOf(credentials);
    }

    @Override
    public String toString() {
      return "ImChannel[name=" + name + ", platform=" + platform + ", tenant=" + tenant + ", model=" + model + "]";
    }
  }

  /**
   * Event bus bridges for other languages.
   *
   * @param sockJs      the SockJS bridge at /eventbus for browsers and Node (client addresses only)
   * @param tcpPort     the TCP event bus bridge for inference workers; 0 = off
   * @param workerToken what a worker must present to register or send; toString never shows it
   */
  public record Bridge(boolean sockJs, String tcpHost, int tcpPort, String workerToken) {
    @Override
    public String toString() {
      return "Bridge[sockJs=" + sockJs + ", tcp=" + tcpHost + ":" + tcpPort + "]";
    }
  }

  /**
   * @param allowLocalMemoryInCluster lets a clustered node keep conversations in its own memory (each node then
   *                                  remembers only the turns it served; answers say {@code x-switchboard-memory: local})
   */
  public record Session(String store, long ttlSeconds, int maxMessages, String redisUrl,
                        boolean allowLocalMemoryInCluster) {
    /** Conversations held by this node alone while it is one of several. */
    public boolean localInCluster(Cluster cluster) {
      return cluster.enabled() && store.equals("memory");
    }
  }

  /** @param configFile Hazelcast XML; null means the cluster.xml on the class path */
  public record Cluster(boolean enabled, String configFile, String host) {
  }
}
