package io.switchboard.config;

import io.switchboard.simulator.SimulatorKnobs;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/** The whole validated configuration of one node. Built by {@link ConfigLoader}; immutable. */
public record SwitchboardConfig(Server server, Management management, Auth auth, Simulator simulator,
                                List<Deployment> deployments, Session session, Cluster cluster,
                                Set<String> verticles) {

  public static final Set<String> VERTICLES = Set.of("connection", "session", "routing", "inference-proxy",
    "monitoring");

  public SwitchboardConfig {
    deployments = List.copyOf(deployments);
    verticles = Set.copyOf(verticles);
  }

  public boolean runs(String verticle) {
    return verticles.contains(verticle);
  }

  /** The public API port. */
  public record Server(String host, int port, int instances, long maxBodyBytes, long requestTimeoutMillis) {
  }

  /** Where /metrics, /health and /ready are served (kept off the public port). */
  public record Management(String host, int port) {
  }

  public record Auth(boolean enabled, List<ApiKey> keys) {
    public Auth {
      keys = List.copyOf(keys);
    }
  }

  /** A client key and the tenant it stands for. toString never shows the key. */
  public record ApiKey(String key, String tenant, int priority) {
    public ApiKey {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(tenant, "tenant");
    }

    @Override
    public String toString() {
      return "ApiKey[tenant=" + tenant + ", priority=" + priority + "]";
    }
  }

  /** The built-in OpenAI-compatible upstream, started on loopback when a deployment uses it. */
  public record Simulator(String host, int port, SimulatorKnobs defaults) {
  }

  /**
   * One way to serve a public model: a provider at a base URL with its keys.
   *
   * @param apiBase null for the built-in simulator, whose address is known only once it listens
   * @param knobs   the simulator's behaviour for this deployment (null unless provider is simulator)
   */
  public record Deployment(String id, String modelName, String provider, String apiBase, List<String> apiKeys,
                           String upstreamModel, int weight, long timeoutMillis, long connectTimeoutMillis,
                           int maxConnections, SimulatorKnobs knobs, Breaker breaker) {
    public Deployment {
      apiKeys = List.copyOf(apiKeys);
    }

    public boolean isSimulator() {
      return provider.equals("simulator");
    }

    /** Who serves this model, as /v1/models shows it. */
    public String ownedBy() {
      return isSimulator() ? "switchboard-simulator" : provider;
    }

    @Override
    public String toString() {
      return "Deployment[id=" + id + ", model=" + modelName + ", provider=" + provider + ", keys="
        + apiKeys.size() + "]";
    }
  }

  /** Circuit breaker settings of a deployment. */
  public record Breaker(int maxFailures, long resetTimeoutMillis) {
  }

  public record Session(String store, long ttlSeconds, int maxMessages, String redisUrl) {
  }

  /** @param configFile Hazelcast XML; null means the cluster.xml on the class path */
  public record Cluster(boolean enabled, String configFile, String host) {
  }
}
