package io.switchboard.control;

import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.Deployment;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What a reloaded configuration changes on a running node. Models, deployments, keys, weights, routes, fallbacks,
 * limits, tenants, guardrail policies (word lists read again) and IM channels apply live; what the node was built
 * with (ports, event loops, cluster, which verticles run, memory and spend-log stores, bridges, the simulator's
 * address, overload policies) keeps its running value and is named in {@link #needsRestart}.
 *
 * @param applied      the configuration the node runs on after the reload: the new live parts, the old rest
 * @param needsRestart the settings that changed in the file but apply only at the next start
 * @param redeploy     the verticles started again on {@code applied} (the others read it live)
 */
public record ConfigChange(SwitchboardConfig applied, List<String> needsRestart, Set<String> redeploy) {

  public ConfigChange {
    needsRestart = List.copyOf(needsRestart);
    redeploy = Set.copyOf(redeploy);
  }

  public static ConfigChange between(SwitchboardConfig running, SwitchboardConfig next) {
    List<String> restart = new ArrayList<>();
    differs(restart, "server", running.server(), next.server());
    differs(restart, "management", running.management(), next.management());
    differs(restart, "cluster", running.cluster(), next.cluster());
    differs(restart, "verticles", running.verticles(), next.verticles());
    differs(restart, "session", running.session(), next.session());
    differs(restart, "bridge", running.bridge(), next.bridge());
    differs(restart, "cache", running.cache(), next.cache());
    differs(restart, "spend_log", running.spendLog(), next.spendLog());
    differs(restart, "simulator", running.simulator(), next.simulator());
    differs(restart, "overload", running.overload(), next.overload());
    differs(restart, "im_work", running.imWork(), next.imWork());
    SwitchboardConfig.Governance was = running.governance();
    SwitchboardConfig.Governance now = next.governance();
    differs(restart, "governance.store", was.store(), now.store());
    differs(restart, "governance.redis_url", was.redisUrl(), now.redisUrl());
    differs(restart, "governance.on_redis_down", was.onRedisDown(), now.onRedisDown());
    differs(restart, "governance.default_max_tokens", was.defaultMaxTokens(), now.defaultMaxTokens());
    differs(restart, "governance.redis_timeout_ms", was.redisTimeoutMillis(), now.redisTimeoutMillis());
    differs(restart, "governance.key_cache_ms", was.keyCacheMillis(), now.keyCacheMillis());
    if (next.caches() && !running.caches()) {
      restart.add("routes[].cache (no response cache runs on this node yet)");
    }
    SwitchboardConfig.Governance governance = new SwitchboardConfig.Governance(was.store(), was.redisUrl(),
      was.onRedisDown(), was.defaultMaxTokens(), was.redisTimeoutMillis(), was.keyCacheMillis(), now.tenants(),
      now.deploymentLimits());
    SwitchboardConfig applied = new SwitchboardConfig(running.server(), running.management(), next.auth(),
      running.simulator(), next.deployments(), next.routes(), running.session(), running.cluster(),
      running.verticles(), next.imChannels(), running.bridge(), running.cache(), governance, running.spendLog(),
      running.overload(), next.guardrails(), running.imWork());

    Set<String> redeploy = new LinkedHashSet<>();
    // a weight alone is not worth new upstream clients and breakers: routing takes it
    if (!withoutWeights(running.deployments()).equals(withoutWeights(next.deployments()))) {
      redeploy.add("inference-proxy");
    }
    if (!running.deployments().equals(next.deployments()) || !running.routes().equals(next.routes())) {
      redeploy.add("routing");
    }
    if (!running.imChannels().equals(next.imChannels())) {
      redeploy.add("connection"); // webhooks are mounted at start
    }
    redeploy.retainAll(running.verticles());
    return new ConfigChange(applied, restart, redeploy);
  }

  /** {@code config} with one model's deployments weighted anew (deployments not named keep their weight). */
  public static SwitchboardConfig withWeights(SwitchboardConfig config, String model, Map<String, Integer> weights) {
    List<Deployment> deployments = config.deployments().stream().map(d -> d.modelName().equals(model)
      && weights.containsKey(d.id()) ? weighted(d, weights.get(d.id())) : d).toList();
    return new SwitchboardConfig(config.server(), config.management(), config.auth(), config.simulator(), deployments,
      config.routes(), config.session(), config.cluster(), config.verticles(), config.imChannels(), config.bridge(),
      config.cache(), config.governance(), config.spendLog(), config.overload(), config.guardrails(),
      config.imWork());
  }

  private static List<Deployment> withoutWeights(List<Deployment> deployments) {
    return deployments.stream().map(d -> weighted(d, 0)).toList();
  }

  private static Deployment weighted(Deployment d, int weight) {
    return new Deployment(d.id(), d.modelName(), d.provider(), d.apiBase(), d.apiKeys(), d.upstreamModel(), weight,
      d.timeoutMillis(), d.connectTimeoutMillis(), d.firstTokenTimeoutMillis(), d.idleTimeoutMillis(), d.pool(),
      d.maxConcurrency(), d.knobs(), d.breaker(), d.mode(), d.price(), d.cloud(), d.adaptive());
  }

  private static void differs(List<String> restart, String setting, Object running, Object next) {
    if (!Objects.equals(running, next)) {
      restart.add(setting);
    }
  }
}
