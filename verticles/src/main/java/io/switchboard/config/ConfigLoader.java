package io.switchboard.config;

import io.switchboard.governance.Limits;
import io.switchboard.governance.Tenant;
import io.switchboard.simulator.SimulatorKnobs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.Node;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The one configuration loader: a YAML file (by default {@code conf/switchboard.yaml}, else the copy in the
 * jar), {@code ${ENV}} references, and {@code SWITCHBOARD_*} environment overrides. Every mistake stops
 * the node with a {@link ConfigException} that names where it is.
 */
public final class ConfigLoader {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}");
  private static final Set<String> PROVIDERS = Set.of("simulator", "openai", "anthropic", "bridge", "azure",
    "gemini", "bedrock");
  /** The settings only one provider has, by provider. */
  private static final Map<String, List<String>> CLOUD_SETTINGS = Map.of(
    "azure", List.of("azure_deployment", "api_version", "azure_ad_token"),
    "bedrock", List.of("aws_region", "aws_access_key_id", "aws_secret_access_key", "aws_session_token"));
  /** Gemini's public endpoint: its api_base may be left out. */
  static final String GEMINI_API_BASE = "https://generativelanguage.googleapis.com";
  /** The Azure OpenAI GA API version used when {@code api_version} is not set. */
  static final String AZURE_API_VERSION = "2024-10-21";

  private ConfigLoader() {
  }

  /** Loads {@code file} if given, else conf/switchboard.yaml in the working directory, else the bundled one. */
  public static SwitchboardConfig load(Path file, Map<String, String> env) {
    if (file != null) {
      if (!Files.isReadable(file)) {
        throw new ConfigException(file + ": configuration file not found or not readable");
      }
      try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        SwitchboardConfig config = parse(file.toString(), reader, env);
        LOG.info("configuration loaded from {}", file.toAbsolutePath().normalize());
        return config;
      } catch (IOException e) {
        throw new ConfigException(file + ": cannot be read (" + e.getMessage() + ")");
      }
    }
    Path local = Path.of("conf", "switchboard.yaml");
    if (Files.isReadable(local)) {
      return load(local, env);
    }
    InputStream bundled = ConfigLoader.class.getResourceAsStream("/switchboard.yaml");
    if (bundled == null) {
      throw new ConfigException("no configuration: conf/switchboard.yaml is missing and none is bundled");
    }
    try (Reader reader = new InputStreamReader(bundled, StandardCharsets.UTF_8)) {
      SwitchboardConfig config = parse("switchboard.yaml (bundled)", reader, env);
      LOG.info("configuration loaded from the switchboard.yaml bundled in the jar (no conf/switchboard.yaml here)");
      return config;
    } catch (IOException e) {
      throw new ConfigException("bundled switchboard.yaml cannot be read: " + e.getMessage());
    }
  }

  public static SwitchboardConfig parse(String name, String yaml, Map<String, String> env) {
    return parse(name, new StringReader(yaml), env);
  }

  static SwitchboardConfig parse(String name, Reader reader, Map<String, String> env) {
    Node rootNode;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      rootNode = new Yaml(options).compose(reader);
    } catch (MarkedYAMLException e) {
      throw new ConfigException(name + " line " + (e.getProblemMark().getLine() + 1) + ": not valid YAML ("
        + e.getProblem() + ")");
    } catch (RuntimeException e) {
      throw new ConfigException(name + ": not valid YAML (" + e.getMessage() + ")");
    }
    ConfigNode root = new ConfigNode(name, "", rootNode, Map.copyOf(env), true);
    Map<String, Limits> deploymentLimits = new HashMap<>();
    Map<String, List<String>> tenantGuardrails = new HashMap<>();
    List<SwitchboardConfig.Deployment> deployments = deployments(root, env, deploymentLimits);
    SwitchboardConfig.Session session = session(root.child("session"));
    SwitchboardConfig config = new SwitchboardConfig(server(root.child("server")),
      management(root.child("management")), auth(root.child("auth")), simulator(root.child("simulator")),
      deployments, routes(root, deployments), session, cluster(root.child("cluster")),
      verticles(root), imChannels(root, deployments), bridge(root.child("bridge"), deployments),
      cache(root.child("cache"), session),
      governance(root, session, deploymentLimits, tenantGuardrails), spendLog(root.child("spend_log")),
      overload(root.child("overload")), null, imWork(root.child("im_work"), session));
    config = withGuardrails(config, GuardrailConfig.load(root, baseDir(name), tenantGuardrails, config.routes()));
    root.rejectUnknownKeys();
    if (config.session().localInCluster(config.cluster()) && !config.session().allowLocalMemoryInCluster()) {
      throw root.child("session").error("store", "is 'memory' on a clustered node: each node would remember only the "
        + "turns it served. Use store: redis (shared by every node), or set session.allow_local_memory_in_cluster: true "
        + "to accept per-node memory");
    }
    return config;
  }

  private static SwitchboardConfig.Server server(ConfigNode node) {
    var server = new SwitchboardConfig.Server(
      node.string("host", "0.0.0.0"),
      node.integer("port", 8080, 0, 65535),
      node.integer("instances", 0, 0, 256),
      node.number("max_body_bytes", 1_048_576, 1024, 1L << 30),
      node.number("request_timeout_ms", 300_000, 100, 3_600_000),
      node.number("slow_client_timeout_ms", 30_000, 100, 3_600_000),
      node.number("websocket_idle_timeout_ms", 120_000, 1_000, 86_400_000),
      node.number("header_read_timeout_ms", 10_000, 100, 600_000),
      node.number("idle_timeout_ms", 60_000, 100, 86_400_000),
      node.integer("event_loops", 0, 0, 1024),
      node.number("max_audio_bytes", 26_214_400, 1024, 1L << 30),
      node.number("drain_delay_ms", 0, 0, 600_000),
      node.oneOf("transport", "auto", Set.of("auto", "nio", "epoll", "io_uring")),
      node.bool("websocket_compression", false));
    node.rejectUnknownKeys();
    return server;
  }

  private static SwitchboardConfig.Management management(ConfigNode node) {
    String token = node.string("admin_token", null);
    if (token != null && token.isBlank()) {
      token = null;
    }
    if (token != null && token.length() < 16) {
      throw node.error("admin_token", "must be at least 16 characters long");
    }
    var management = new SwitchboardConfig.Management(node.string("host", "0.0.0.0"),
      node.integer("port", 9090, 0, 65535), token, node.number("header_read_timeout_ms", 10_000, 100, 600_000),
      node.number("idle_timeout_ms", 60_000, 100, 86_400_000), node.bool("event_bus_metrics", false),
      node.bool("http_client_metrics", false), node.bool("http_server_metrics", false));
    node.rejectUnknownKeys();
    return management;
  }

  private static SwitchboardConfig.Auth auth(ConfigNode node) {
    boolean enabled = node.bool("enabled", false);
    List<SwitchboardConfig.ApiKey> keys = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (ConfigNode entry : node.children("keys")) {
      String key = entry.requiredString("key");
      if (key.length() < 16) {
        throw entry.error("key", "must be at least 16 characters long");
      }
      if (!seen.add(key)) {
        throw entry.error("key", "is the same key as an earlier entry");
      }
      String tenant = entry.requiredString("tenant");
      if (!ID.matcher(tenant).matches()) {
        throw entry.error("tenant", "must be letters, digits, '.', '_' or '-' (got '" + tenant + "')");
      }
      keys.add(new SwitchboardConfig.ApiKey(key, tenant, entry.integer("priority", 0, 0, 9),
        entry.string("key_alias", null), Set.copyOf(entry.strings("models", List.of())), limits(entry)));
      entry.rejectUnknownKeys();
    }
    if (enabled && keys.isEmpty()) {
      throw node.error("keys", "must list at least one key when auth.enabled is true");
    }
    node.rejectUnknownKeys();
    return new SwitchboardConfig.Auth(enabled, keys);
  }

  /** {@code rpm_limit}, {@code tpm_limit}, {@code max_budget} (USD) and {@code budget_duration} of a key or tenant. */
  private static Limits limits(ConfigNode node) {
    Double budget = node.has("max_budget") ? node.decimal("max_budget", 0, 0, 1e12) : null;
    String period = node.string("budget_duration", null);
    Duration duration = Limits.parseDuration(period);
    if (period != null && duration == null) {
      throw node.error("budget_duration", "must be a number and s, m, h, d or w (e.g. 30d), got '" + period + "'");
    }
    return new Limits(node.number("rpm_limit", 0, 0, 1_000_000_000L),
      node.number("tpm_limit", 0, 0, 1_000_000_000_000L), budget, duration);
  }

  /**
   * {@code governance:} and {@code tenants:}. Keys and counters are shared through Redis by default when
   * conversations are (session.store: redis, with its redis_url), else kept in this node's memory.
   */
  private static SwitchboardConfig.Governance governance(ConfigNode root, SwitchboardConfig.Session session,
                                                         Map<String, Limits> deploymentLimits,
                                                         Map<String, List<String>> guardrails) {
    ConfigNode node = root.child("governance");
    boolean redisSession = session.store().equals("redis");
    List<Tenant> tenants = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (ConfigNode entry : root.children("tenants")) {
      String name = entry.requiredString("name");
      if (!ID.matcher(name).matches()) {
        throw entry.error("name", "must be letters, digits, '.', '_' or '-' (got '" + name + "')");
      }
      if (!names.add(name)) {
        throw entry.error("name", "'" + name + "' is listed twice");
      }
      tenants.add(new Tenant(name, Set.copyOf(entry.strings("models", List.of())), limits(entry), Tenant.CONFIG));
      guardrails.put(name, entry.strings("guardrails", List.of()));
      entry.rejectUnknownKeys();
    }
    var governance = new SwitchboardConfig.Governance(
      node.oneOf("store", redisSession ? "redis" : "memory", SwitchboardConfig.Governance.STORES),
      node.string("redis_url", session.redisUrl()),
      node.oneOf("on_redis_down", "local", SwitchboardConfig.Governance.ON_REDIS_DOWN),
      node.integer("default_max_tokens", 4_096, 1, 10_000_000),
      node.number("redis_timeout_ms", 50, 1, 60_000),
      node.number("key_cache_ms", 500, 0, 60_000),
      tenants, deploymentLimits);
    node.rejectUnknownKeys();
    return governance;
  }

  private static SwitchboardConfig.Simulator simulator(ConfigNode node) {
    var simulator = new SwitchboardConfig.Simulator(node.string("host", "127.0.0.1"),
      node.integer("port", 0, 0, 65535), knobs(node, SimulatorKnobs.DEFAULTS),
      node.strings("moderation_words", List.of("simulated-violation")));
    node.rejectUnknownKeys();
    return simulator;
  }

  private static SimulatorKnobs knobs(ConfigNode node, SimulatorKnobs defaults) {
    return new SimulatorKnobs(
      node.number("ttft_ms", defaults.ttftMillis(), 0, 600_000),
      node.integer("tokens_per_second", defaults.tokensPerSecond(), 0, 1_000_000),
      node.integer("reply_tokens", defaults.replyTokens(), 0, 10_000_000),
      node.decimal("error_rate", defaults.errorRate(), 0, 1),
      node.integer("error_status", defaults.errorStatus(), 400, 599),
      node.bool("hang", defaults.hang()),
      node.integer("drop_after_chunks", defaults.dropAfterChunks(), -1, 1_000_000),
      node.integer("retry_after", defaults.retryAfterSeconds(), 0, 3_600),
      node.bool("tools", defaults.tools()),
      node.number("ttft_per_inflight_ms", defaults.ttftPerInflightMillis(), 0, 600_000));
  }

  private static List<SwitchboardConfig.Deployment> deployments(ConfigNode root, Map<String, String> env,
                                                                Map<String, Limits> limits) {
    SimulatorKnobs simulatorDefaults = knobs(root.child("simulator"), SimulatorKnobs.DEFAULTS);
    List<SwitchboardConfig.Deployment> deployments = new ArrayList<>();
    Map<String, Integer> perModel = new HashMap<>();
    Map<String, String> modes = new HashMap<>();
    Set<String> ids = new HashSet<>();
    for (ConfigNode entry : root.children("model_list")) {
      String model = entry.requiredString("model_name");
      if (!ID.matcher(model).matches() && !model.matches("[A-Za-z0-9][A-Za-z0-9._:/\\-]{0,127}")) {
        throw entry.error("model_name", "must be letters, digits, '.', '_', ':', '/' or '-' (got '" + model + "')");
      }
      String provider = entry.oneOf("provider", "openai", PROVIDERS);
      int index = perModel.merge(model, 1, Integer::sum) - 1;
      String id = entry.string("id", model.replaceAll("[^A-Za-z0-9._\\-]", "-") + "." + index);
      if (!ID.matcher(id).matches()) {
        throw entry.error("id", "must be letters, digits, '.', '_' or '-' (got '" + id + "')");
      }
      if (!ids.add(id)) {
        throw entry.error("id", "'" + id + "' is used by another deployment");
      }
      boolean simulator = provider.equals("simulator");
      boolean bridged = provider.equals("bridge");
      String mode = mode(entry, provider, modes);
      SwitchboardConfig.Cloud cloud = cloud(entry, provider, model, env);
      String apiBase = simulator || bridged ? null : provider.equals("gemini") ? entry.string("api_base", GEMINI_API_BASE)
        : provider.equals("bedrock") ? entry.string("api_base", "https://bedrock-runtime." + cloud.awsRegion()
        + ".amazonaws.com") : entry.requiredString("api_base");
      if (apiBase != null && !apiBase.matches("https?://.+")) {
        throw entry.error("api_base", "must be an http:// or https:// URL");
      }
      if ((simulator || bridged) && entry.has("api_base")) {
        throw entry.error("api_base", "is not used by the " + provider + " provider");
      }
      List<String> keys = new ArrayList<>(entry.strings("api_keys", List.of()));
      String single = entry.string("api_key", null);
      if (single != null) {
        keys.add(0, single);
      }
      keys.removeIf(String::isBlank);
      boolean optional = entry.bool("optional", false);
      SimulatorKnobs knobs = simulator ? knobs(entry.child("simulator"), simulatorDefaults) : null;
      long timeout = entry.number("timeout_ms", 120_000, 10, 3_600_000);
      if (!simulator) {
        entry.child("simulator").rejectUnknownKeys();
        if (entry.has("simulator")) {
          throw entry.error("simulator", "knobs apply only to provider: simulator");
        }
      }
      int maxConcurrency = entry.integer("max_concurrency", 0, 0, 1_000_000);
      var deployment = new SwitchboardConfig.Deployment(id, model, provider, stripSlash(apiBase), keys,
        entry.string("upstream_model", !simulator ? model : SIMULATOR_MODELS.get(mode)),
        entry.integer("weight", 1, 0, 1000),
        timeout,
        entry.number("connect_timeout_ms", 5_000, 10, 600_000),
        entry.number("first_token_timeout_ms", timeout, 10, 3_600_000),
        entry.number("idle_timeout_ms", Math.min(timeout, 60_000), 10, 3_600_000),
        pool(entry, maxConcurrency),
        maxConcurrency,
        knobs,
        breaker(entry.child("circuit_breaker")), mode, price(entry), cloud,
        adaptive(entry, maxConcurrency));
      Limits own = new Limits(entry.number("rpm_limit", 0, 0, 1_000_000_000L),
        entry.number("tpm_limit", 0, 0, 1_000_000_000_000L), null, null);
      entry.rejectUnknownKeys();
      if (own.any()) {
        limits.put(id, own);
      }
      if (optional && !simulator && keys.isEmpty() && cloud.azureAdToken() == null && cloud.awsAccessKeyId() == null) {
        LOG.info("model {} (deployment {}) is not served: it is optional and has no api key set", model, id);
        continue;
      }
      deployments.add(deployment);
    }
    return deployments;
  }

  /**
   * A cloud provider's own settings ({@link #CLOUD_SETTINGS}); named as errors on any other provider. Azure's
   * deployment defaults to the upstream model name; Bedrock's region to {@code AWS_REGION}, and its credentials to
   * the AWS SDK's default chain (given, the key id and the secret go together).
   */
  private static SwitchboardConfig.Cloud cloud(ConfigNode entry, String provider, String model, Map<String, String> env) {
    CLOUD_SETTINGS.forEach((owner, keys) -> {
      if (!owner.equals(provider)) {
        keys.stream().filter(entry::has).findFirst().ifPresent(key -> {
          throw entry.error(key, "applies only to provider: " + owner);
        });
      }
    });
    return switch (provider) {
      case "azure" -> new SwitchboardConfig.Cloud(entry.string("azure_deployment",
        entry.string("upstream_model", model)), entry.string("api_version", AZURE_API_VERSION),
        blankToNull(entry.string("azure_ad_token", null)), null, null, null, null);
      case "bedrock" -> {
        String region = entry.string("aws_region", env.getOrDefault("AWS_REGION", env.get("AWS_DEFAULT_REGION")));
        if (region == null || !region.matches("[a-z]{2}(-[a-z]+)+-\\d+")) {
          throw entry.error("aws_region", region == null ? "is required (or AWS_REGION in the environment)"
            : "must be an AWS region such as us-east-1 (got '" + region + "')");
        }
        String keyId = blankToNull(entry.string("aws_access_key_id", null));
        String secret = blankToNull(entry.string("aws_secret_access_key", null));
        if ((keyId == null) != (secret == null)) {
          throw entry.error(keyId == null ? "aws_access_key_id" : "aws_secret_access_key",
            "is required with " + (keyId == null ? "aws_secret_access_key" : "aws_access_key_id"));
        }
        String token = blankToNull(entry.string("aws_session_token", null));
        if (token != null && keyId == null) {
          throw entry.error("aws_session_token", "needs aws_access_key_id and aws_secret_access_key");
        }
        yield new SwitchboardConfig.Cloud(null, null, null, region, keyId, secret, token);
      }
      default -> SwitchboardConfig.Cloud.NONE;
    };
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value;
  }

  /** {@code price: {input_per_million, output_per_million, cached_input_per_million}}; absent = the bundled table. */
  private static SwitchboardConfig.Price price(ConfigNode entry) {
    if (!entry.has("price")) {
      return null;
    }
    ConfigNode node = entry.child("price");
    if (!node.has("input_per_million") || !node.has("output_per_million")) {
      throw entry.error("price", "needs input_per_million and output_per_million (USD per million tokens)");
    }
    double input = node.decimal("input_per_million", 0, 0, 1_000_000);
    var price = new SwitchboardConfig.Price(input, node.decimal("output_per_million", 0, 0, 1_000_000),
      node.decimal("cached_input_per_million", input, 0, 1_000_000));
    node.rejectUnknownKeys();
    return price;
  }

  /**
   * The HTTP client pool: by default sized from the calls expected at once ({@code max_concurrency}, or 1,000 when
   * unlimited), one connection per call over HTTP/1.1, {@code http2_max_streams} calls per connection over HTTP/2.
   */
  private static SwitchboardConfig.Pool pool(ConfigNode entry, int maxConcurrency) {
    boolean http2 = entry.bool("http2", false);
    int streams = entry.integer("http2_max_streams", SwitchboardConfig.Pool.DEFAULT_HTTP2_MAX_STREAMS, 1, 100_000);
    int expected = maxConcurrency > 0 ? maxConcurrency : SwitchboardConfig.Pool.DEFAULT_EXPECTED_CONCURRENCY;
    ConfigNode queue = entry.child("pool_queue");
    var pool = new SwitchboardConfig.Pool(http2,
      entry.integer("max_connections", SwitchboardConfig.Pool.connectionsFor(expected, http2, streams), 1, 100_000),
      streams,
      queue.integer("max_waiting", SwitchboardConfig.Pool.DEFAULT_MAX_WAITING, 0, 1_000_000),
      queue.number("max_wait_ms", SwitchboardConfig.Pool.DEFAULT_MAX_WAIT_MILLIS, 1, 600_000));
    queue.rejectUnknownKeys();
    if (!http2 && entry.has("http2_max_streams")) {
      throw entry.error("http2_max_streams", "applies only with http2: true");
    }
    return pool;
  }

  /** The simulator's model for each mode, what a simulator deployment calls unless it names an upstream_model. */
  private static final Map<String, String> SIMULATOR_MODELS = Map.of(SwitchboardConfig.Deployment.CHAT,
    "switchboard-simulator", SwitchboardConfig.Deployment.EMBEDDING, "switchboard-simulator-embedding",
    SwitchboardConfig.Deployment.MODERATION, "switchboard-simulator-moderation",
    SwitchboardConfig.Deployment.AUDIO_TRANSCRIPTION, "switchboard-simulator-whisper");

  /**
   * LiteLLM's {@code model_info: {mode: chat | embedding | moderation | audio_transcription}}; one model name has one
   * mode.
   */
  private static String mode(ConfigNode entry, String provider, Map<String, String> modes) {
    ConfigNode info = entry.child("model_info");
    String mode = info.oneOf("mode", SwitchboardConfig.Deployment.CHAT, SwitchboardConfig.Deployment.MODES);
    info.rejectUnknownKeys();
    if ((mode.equals(SwitchboardConfig.Deployment.EMBEDDING)
      || mode.equals(SwitchboardConfig.Deployment.AUDIO_TRANSCRIPTION))
      && !SwitchboardConfig.Deployment.EMBEDDING_PROVIDERS.contains(provider)) {
      throw entry.error("model_info", "mode " + mode + " needs an OpenAI-compatible provider (openai, azure or "
        + "simulator); " + provider + " has no " + (mode.equals(SwitchboardConfig.Deployment.EMBEDDING) ? "embeddings"
        : "audio transcriptions") + " API");
    }
    if (mode.equals(SwitchboardConfig.Deployment.MODERATION) && !Set.of("openai", "simulator").contains(provider)) {
      throw entry.error("model_info", "mode moderation needs an OpenAI-compatible provider with /moderations "
        + "(openai or simulator); " + provider + " has no moderations API");
    }
    String model = entry.requiredString("model_name");
    String earlier = modes.putIfAbsent(model, mode);
    if (earlier != null && !earlier.equals(mode)) {
      throw entry.error("model_info", "mode " + mode + " differs from the mode " + earlier + " of an earlier "
        + "deployment of '" + model + "'");
    }
    return mode;
  }

  /** {@code routes[].overload_skips}: optional work in the order it is given up under overload. */
  private static List<String> overloadSkips(ConfigNode entry, SwitchboardConfig.Route defaults) {
    List<String> skips = entry.strings("overload_skips", defaults.overloadSkips());
    for (String work : skips) {
      if (!SwitchboardConfig.Route.OPTIONAL_WORK.contains(work)) {
        throw entry.error("overload_skips", "'" + work + "' is not optional work; choose from "
          + SwitchboardConfig.Route.OPTIONAL_WORK.stream().sorted().toList());
      }
    }
    if (new HashSet<>(skips).size() != skips.size()) {
      throw entry.error("overload_skips", "lists an item twice");
    }
    return skips;
  }

  /** {@code overload:} — thresholds for levels 1, 2 and 3 of each signal, rising. */
  private static SwitchboardConfig.Overload overload(ConfigNode node) {
    var defaults = SwitchboardConfig.Overload.DEFAULTS;
    var overload = new SwitchboardConfig.Overload(node.bool("enabled", defaults.enabled()),
      node.number("check_interval_ms", defaults.checkMillis(), 10, 60_000),
      levels(node, "event_loop_delay_ms", defaults.loopDelayMillis(), 1_000_000),
      levels(node, "queued", defaults.queued(), 100_000_000),
      levels(node, "heap_after_gc_percent", defaults.heapPercent(), 100),
      node.number("calm_ms", defaults.calmMillis(), 0, 3_600_000),
      node.integer("shed_below_priority", defaults.shedBelowPriority(), 0, 10));
    node.rejectUnknownKeys();
    return overload;
  }

  private static List<Long> levels(ConfigNode node, String key, List<Long> defaults, long max) {
    List<String> given = node.strings(key, null);
    if (given == null) {
      return defaults;
    }
    List<Long> levels = new ArrayList<>();
    for (String value : given) {
      try {
        levels.add(Long.parseLong(value.trim()));
      } catch (NumberFormatException e) {
        throw node.error(key, "must be three whole numbers, for levels 1, 2 and 3 (got '" + value + "')");
      }
    }
    if (levels.size() != 3 || levels.get(0) < 1 || levels.get(0) > levels.get(1) || levels.get(1) > levels.get(2)
      || levels.get(2) > max) {
      throw node.error(key, "must be three rising thresholds for levels 1, 2 and 3, at most " + max + " (got "
        + given + ")");
    }
    return List.copyOf(levels);
  }

  /**
   * {@code routes[].rules}: each {@code when:} (prompt_tokens_over, images, tools, tenant, header) picks
   * {@code deployments:},
   * ids of this model's own deployments.
   */
  private static List<SwitchboardConfig.RouteRule> rules(ConfigNode entry, String model,
                                                         List<SwitchboardConfig.Deployment> deployments) {
    Set<String> own = new HashSet<>();
    deployments.stream().filter(d -> d.modelName().equals(model)).forEach(d -> own.add(d.id()));
    List<SwitchboardConfig.RouteRule> rules = new ArrayList<>();
    for (ConfigNode rule : entry.children("rules")) {
      if (!rule.has("when")) {
        throw rule.error("when", "is required: the conditions a turn must meet (prompt_tokens_over, images, tools, "
          + "tenant)");
      }
      ConfigNode when = rule.child("when");
      long tokens = when.number("prompt_tokens_over", -1, 0, 100_000_000);
      Boolean images = when.has("images") ? when.bool("images", false) : null;
      Boolean tools = when.has("tools") ? when.bool("tools", false) : null;
      List<String> tenants = when.strings("tenant", List.of());
      Map<String, String> headers = new HashMap<>();
      if (when.has("header")) {
        when.stringMap("header").forEach((name, value) -> {
          if (!name.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+")) {
            throw when.error("header", "'" + name + "' is not an HTTP header name");
          }
          headers.put(name.toLowerCase(Locale.ROOT), value);
        });
      }
      when.rejectUnknownKeys();
      if (tokens < 0 && images == null && tools == null && tenants.isEmpty() && headers.isEmpty()) {
        throw rule.error("when", "sets no condition (prompt_tokens_over, images, tools, tenant, header)");
      }
      List<String> picked = rule.strings("deployments", List.of());
      if (picked.isEmpty()) {
        throw rule.error("deployments", "is required: ids of " + model + "'s deployments that serve such a turn");
      }
      for (String id : picked) {
        if (!own.contains(id)) {
          throw rule.error("deployments", "'" + id + "' is not a deployment of " + model + " (its deployments: "
            + own.stream().sorted().toList() + ")");
        }
      }
      rule.rejectUnknownKeys();
      rules.add(new SwitchboardConfig.RouteRule(tokens, images, tools, new HashSet<>(tenants), headers, picked));
    }
    return rules;
  }

  private static Map<String, SwitchboardConfig.Route> routes(ConfigNode root,
                                                             List<SwitchboardConfig.Deployment> deployments) {
    Set<String> served = new HashSet<>();
    deployments.forEach(d -> served.add(d.modelName()));
    Map<String, String> modes = new HashMap<>();
    deployments.forEach(d -> modes.put(d.modelName(), d.mode()));
    Map<String, SwitchboardConfig.Route> routes = new java.util.LinkedHashMap<>();
    for (ConfigNode entry : root.children("routes")) {
      String model = entry.requiredString("model_name");
      if (routes.containsKey(model)) {
        throw entry.error("model_name", "'" + model + "' has a route already");
      }
      var defaults = SwitchboardConfig.Route.defaults(model);
      List<String> fallbacks = entry.strings("fallbacks", List.of());
      for (String fallback : fallbacks) {
        if (fallback.equals(model)) {
          throw entry.error("fallbacks", "lists the model itself");
        }
        String mode = modes.get(model);
        if (mode != null && modes.containsKey(fallback) && !modes.get(fallback).equals(mode)) {
          throw entry.error("fallbacks", "'" + fallback + "' (mode " + modes.get(fallback)
            + ") cannot stand in for a model of mode " + mode);
        }
      }
      ConfigNode queue = entry.child("queue");
      var route = new SwitchboardConfig.Route(model,
        entry.oneOf("strategy", defaults.strategy(), SwitchboardConfig.Route.STRATEGIES), fallbacks,
        entry.integer("num_retries", defaults.numRetries(), 0, 20),
        entry.number("retry_base_ms", defaults.retryBaseMillis(), 1, 60_000),
        entry.number("retry_max_ms", defaults.retryMaxMillis(), 1, 600_000),
        entry.number("hedge_after_ms", defaults.hedgeAfterMillis(), 0, 600_000),
        queue.integer("max_waiting", defaults.maxQueued(), 0, 1_000_000),
        queue.number("max_wait_ms", defaults.maxQueueWaitMillis(), 1, 3_600_000),
        entry.integer("context_tokens", defaults.contextTokens(), 64, 10_000_000),
        routeCache(entry), rules(entry, model, deployments), overloadSkips(entry, defaults),
        entry.strings("guardrails", List.of()));
      queue.rejectUnknownKeys();
      entry.rejectUnknownKeys();
      if (!served.contains(model)) {
        LOG.info("route for {} is not used: no deployment of it is served", model);
      }
      routes.put(model, route);
    }
    for (var route : routes.values()) {
      for (String fallback : route.fallbacks()) {
        if (!served.contains(fallback)) {
          LOG.warn("route {}: fallback {} has no deployment and will be skipped", route.model(), fallback);
        }
      }
    }
    return routes;
  }

  /** {@code cache: {ttl_seconds: 600, tool_calls: false}} on a route; absent (or {@code cache: off}) = not cached. */
  private static SwitchboardConfig.RouteCache routeCache(ConfigNode route) {
    if (!route.has("cache")) {
      return null;
    }
    ConfigNode node = route.child("cache");
    if (!node.bool("enabled", true)) {
      node.rejectUnknownKeys();
      return null;
    }
    if (!node.has("ttl_seconds")) {
      throw route.error("cache", "needs ttl_seconds (how long an answer is served again)");
    }
    var cache = new SwitchboardConfig.RouteCache(node.number("ttl_seconds", 600, 1, 30L * 86_400),
      node.bool("tool_calls", false));
    node.rejectUnknownKeys();
    return cache;
  }

  /** The cache's layers: shared through Redis by default when conversations are (session.store: redis). */
  private static SwitchboardConfig.Cache cache(ConfigNode node, SwitchboardConfig.Session session) {
    var cache = new SwitchboardConfig.Cache(
      node.oneOf("store", session.store().equals("redis") ? "redis" : "local", SwitchboardConfig.Cache.STORES),
      node.string("redis_url", session.redisUrl()),
      node.number("max_local_bytes", 64L << 20, 0, 1L << 40),
      node.number("max_entry_bytes", 1L << 20, 256, 64L << 20),
      node.number("lock_ms", 5_000, 100, 600_000));
    node.rejectUnknownKeys();
    return cache;
  }

  /** {@code spend_log: {store: memory | postgres, postgres_url, batch_size, flush_millis, max_memory_rows}}. */
  private static SwitchboardConfig.SpendLog spendLog(ConfigNode node) {
    String store = node.oneOf("store", "memory", SwitchboardConfig.SpendLog.STORES);
    String url = node.string("postgres_url", null);
    if (store.equals("postgres") && (url == null || url.isBlank())) {
      throw node.error("postgres_url", "is required with store: postgres (postgresql://user:pass@host:port/db)");
    }
    if (url != null && !url.matches("postgres(ql)?://.+")) {
      throw node.error("postgres_url", "must be a postgresql://user:pass@host:port/db URL");
    }
    var log = new SwitchboardConfig.SpendLog(store, url, node.integer("batch_size", 500, 1, 50_000),
      node.number("flush_millis", 1_000, 10, 600_000), node.integer("max_memory_rows", 100_000, 10, 100_000_000));
    node.rejectUnknownKeys();
    return log;
  }

  /** {@code im_work: {queue: redis | memory, redis_url, claim_idle_ms, max_attempts, max_in_flight}}. */
  private static SwitchboardConfig.ImWork imWork(ConfigNode node, SwitchboardConfig.Session session) {
    var work = new SwitchboardConfig.ImWork(
      node.oneOf("queue", session.store().equals("redis") ? "redis" : "memory", SwitchboardConfig.ImWork.QUEUES),
      node.string("redis_url", session.redisUrl()),
      node.number("claim_idle_ms", 15_000, 500, 3_600_000),
      node.integer("max_attempts", 3, 1, 100),
      node.integer("max_in_flight", 64, 1, 10_000));
    node.rejectUnknownKeys();
    return work;
  }

  private static List<SwitchboardConfig.ImChannel> imChannels(ConfigNode root,
                                                              List<SwitchboardConfig.Deployment> deployments) {
    List<SwitchboardConfig.ImChannel> channels = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (ConfigNode entry : root.children("im_channels")) {
      String name = entry.requiredString("name");
      if (!name.matches("[a-z0-9][a-z0-9_\\-]{0,63}")) {
        throw entry.error("name", "must be 1-64 characters of a-z 0-9 _ - (it is part of the webhook URL)");
      }
      if (!names.add(name)) {
        throw entry.error("name", "'" + name + "' is used by another channel");
      }
      String platform = entry.oneOf("platform", null, SwitchboardConfig.ImChannel.PLATFORMS);
      if (platform == null) {
        throw entry.error("platform", "is required");
      }
      String tenant = entry.string("tenant", "default");
      if (!ID.matcher(tenant).matches()) {
        throw entry.error("tenant", "must be letters, digits, '.', '_' or '-' (got '" + tenant + "')");
      }
      String transcription = entry.string("transcription_model", null);
      if (transcription != null && deployments.stream().noneMatch(d -> d.modelName().equals(transcription)
        && d.transcription())) {
        throw entry.error("transcription_model", "'" + transcription + "' is no model_list entry with "
          + "model_info.mode: audio_transcription");
      }
      var channel = new SwitchboardConfig.ImChannel(name, platform, tenant, entry.requiredString("model"),
        stripSlash(entry.string("api_base", null)), entry.stringMap("credentials"), transcription);
      entry.rejectUnknownKeys();
      channels.add(channel);
    }
    return channels;
  }

  private static SwitchboardConfig.Bridge bridge(ConfigNode node, List<SwitchboardConfig.Deployment> deployments) {
    String token = node.string("worker_token", null);
    int port = node.integer("tcp_port", 0, 0, 65535);
    var bridge = new SwitchboardConfig.Bridge(node.bool("sockjs", true), node.string("tcp_host", "127.0.0.1"), port,
      token == null || token.isBlank() ? null : token);
    if (bridge.workerToken() != null && bridge.workerToken().length() < 16) {
      throw node.error("worker_token", "must be at least 16 characters long");
    }
    if (port > 0 && bridge.workerToken() == null) {
      throw node.error("worker_token", "is required when bridge.tcp_port is set: every worker must authenticate");
    }
    if (port == 0 && deployments.stream().anyMatch(d -> d.provider().equals("bridge"))) {
      LOG.info("bridge deployments are served by workers connected to another node's TCP bridge");
    }
    node.rejectUnknownKeys();
    return bridge;
  }

  /**
   * {@code adaptive_concurrency:} — absent: the deployment's concurrency is only max_concurrency (when set), which
   * then also caps the adaptive limit.
   */
  private static SwitchboardConfig.AdaptiveConcurrency adaptive(ConfigNode entry, int maxConcurrency) {
    if (!entry.has("adaptive_concurrency")) {
      return null;
    }
    ConfigNode node = entry.child("adaptive_concurrency");
    String algorithm = node.oneOf("algorithm", SwitchboardConfig.AdaptiveConcurrency.GRADIENT,
      Set.of(SwitchboardConfig.AdaptiveConcurrency.GRADIENT, SwitchboardConfig.AdaptiveConcurrency.AIMD));
    boolean aimd = algorithm.equals(SwitchboardConfig.AdaptiveConcurrency.AIMD);
    int max = node.integer("max_limit", maxConcurrency > 0 ? maxConcurrency : 1_000, 1, 1_000_000);
    if (maxConcurrency > 0 && max > maxConcurrency) {
      throw node.error("max_limit", "cannot exceed the deployment's max_concurrency (" + maxConcurrency + ")");
    }
    int min = node.integer("min_limit", 1, 1, max);
    int initial = node.integer("initial_limit", Math.max(min, Math.min(20, max)), min, max);
    for (String key : List.of("latency_ms", "backoff_ratio")) {
      if (!aimd && node.has(key)) {
        throw node.error(key, "applies to algorithm: aimd only");
      }
    }
    if (aimd && !node.has("latency_ms")) {
      throw node.error("latency_ms", "is required with algorithm: aimd (a first token slower than this backs off)");
    }
    var adaptive = new SwitchboardConfig.AdaptiveConcurrency(algorithm, initial, min, max,
      node.number("latency_ms", 0, 1, 3_600_000), node.decimal("backoff_ratio", 0.9, 0.5, 0.99));
    node.rejectUnknownKeys();
    return adaptive;
  }

  /**
   * {@code circuit_breaker:} — the rolling-window rate policy by default; {@code max_failures} alone (as before)
   * or {@code policy: consecutive} counts failures in a row. Settings of the other policy are named as errors.
   */
  private static SwitchboardConfig.Breaker breaker(ConfigNode node) {
    String policy = node.oneOf("policy", node.has("max_failures") ? SwitchboardConfig.Breaker.CONSECUTIVE
      : SwitchboardConfig.Breaker.RATE, Set.of(SwitchboardConfig.Breaker.RATE, SwitchboardConfig.Breaker.CONSECUTIVE));
    long reset = node.number("reset_timeout_ms", 10_000, 10, 3_600_000);
    SwitchboardConfig.Breaker breaker;
    if (policy.equals(SwitchboardConfig.Breaker.CONSECUTIVE)) {
      for (String key : List.of("window_calls", "window_seconds", "minimum_calls", "failure_rate_threshold",
        "slow_call_ms", "slow_call_rate_threshold", "half_open_calls")) {
        if (node.has(key)) {
          throw node.error(key, "applies to policy: rate only (this breaker counts max_failures in a row)");
        }
      }
      breaker = new SwitchboardConfig.Breaker(node.integer("max_failures", 5, 1, 10_000), reset);
    } else {
      if (node.has("max_failures")) {
        throw node.error("max_failures", "applies to policy: consecutive only (a rate breaker judges a window)");
      }
      if (node.has("window_calls") && node.has("window_seconds")) {
        throw node.error("window_seconds", "cannot be set together with window_calls: the window counts calls or "
          + "seconds, not both");
      }
      int seconds = node.integer("window_seconds", 0, 1, 3_600);
      int calls = node.integer("window_calls", seconds > 0 ? 0 : 100, 1, 100_000);
      int minimum = node.integer("minimum_calls", Math.min(20, seconds > 0 ? 20 : calls), 1, 100_000);
      if (seconds == 0 && minimum > calls) {
        throw node.error("minimum_calls", "cannot exceed window_calls (" + calls + ")");
      }
      breaker = new SwitchboardConfig.Breaker(policy, 0, calls, seconds, minimum,
        (float) node.decimal("failure_rate_threshold", 50, 1, 100), node.number("slow_call_ms", 0, 0, 3_600_000),
        (float) node.decimal("slow_call_rate_threshold", 50, 1, 100), node.integer("half_open_calls", 3, 1, 1_000),
        reset);
    }
    node.rejectUnknownKeys();
    return breaker;
  }

  private static SwitchboardConfig.Session session(ConfigNode node) {
    var session = new SwitchboardConfig.Session(
      node.oneOf("store", "memory", Set.of("memory", "redis")),
      node.number("ttl_seconds", 86_400, 1, 365L * 86_400),
      node.integer("max_messages", 200, 2, 100_000),
      node.string("redis_url", "redis://127.0.0.1:6379"),
      node.bool("allow_local_memory_in_cluster", false));
    node.rejectUnknownKeys();
    return session;
  }

  private static SwitchboardConfig.Cluster cluster(ConfigNode node) {
    var cluster = new SwitchboardConfig.Cluster(node.bool("enabled", false), node.string("config_file", null),
      node.string("host", "127.0.0.1"));
    node.rejectUnknownKeys();
    return cluster;
  }

  private static Set<String> verticles(ConfigNode root) {
    Set<String> verticles = new LinkedHashSet<>(root.strings("verticles", List.copyOf(SwitchboardConfig.VERTICLES)));
    for (String verticle : verticles) {
      if (!SwitchboardConfig.VERTICLES.contains(verticle)) {
        throw root.error("verticles", "names an unknown verticle '" + verticle + "' (known: "
          + String.join(", ", new java.util.TreeSet<>(SwitchboardConfig.VERTICLES)) + ")");
      }
    }
    return verticles;
  }

  /** Where relative files named in the configuration (guardrail word lists) are found: beside the config file. */
  private static Path baseDir(String name) {
    Path parent = Path.of(name.replace(" (bundled)", "")).toAbsolutePath().getParent();
    return parent != null ? parent : Path.of("").toAbsolutePath();
  }

  private static SwitchboardConfig withGuardrails(SwitchboardConfig c, SwitchboardConfig.Guardrails guardrails) {
    return new SwitchboardConfig(c.server(), c.management(), c.auth(), c.simulator(), c.deployments(), c.routes(),
      c.session(), c.cluster(), c.verticles(), c.imChannels(), c.bridge(), c.cache(), c.governance(), c.spendLog(),
      c.overload(), guardrails, c.imWork());
  }

  private static String stripSlash(String url) {
    return url != null && url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }
}
