package io.switchboard.inference;

import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;

/** The one place upstream clients are made: a pooled HTTP client per deployment, and its protocol. */
final class Upstreams {
  private Upstreams() {
  }

  static Upstream create(Vertx vertx, Deployment deployment, String baseUrl, WorkerBridge workers) {
    if (deployment.provider().equals("bridge")) {
      return new BridgeUpstream(vertx, deployment, workers);
    }
    HttpClientAgent client = vertx.httpClientBuilder()
      .with(new HttpClientOptions()
        .setConnectTimeout((int) deployment.connectTimeoutMillis())
        .setKeepAlive(true)
        .setTcpNoDelay(true)
        .setSsl(baseUrl.startsWith("https:")))
      // the default pool (5 connections) would queue a busy deployment's calls inside the gateway
      .with(new PoolOptions().setHttp1MaxSize(deployment.maxConnections())
        .setMaxWaitQueueSize(deployment.maxConnections() * 4))
      .build();
    return switch (deployment.provider()) {
      case "anthropic" -> new AnthropicUpstream(deployment, baseUrl, client);
      case "openai", "simulator" -> new OpenAiUpstream(deployment, baseUrl, client);
      default -> throw new IllegalArgumentException("no upstream protocol for provider " + deployment.provider());
    };
  }
}
