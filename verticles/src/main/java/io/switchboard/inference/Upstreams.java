package io.switchboard.inference;

import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.config.SwitchboardConfig.Pool;
import io.switchboard.vertx.WriteQueues;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;

import java.util.List;

/**
 * The one place upstream clients are made: a pooled HTTP client per deployment, and its protocol. Over HTTP/2
 * ({@code http2: true}) a few connections carry many calls each: prior knowledge (h2c) on {@code http://}, ALPN on
 * {@code https://} (where a provider that declines HTTP/2 is spoken to over HTTP/1.1, with as many connections as
 * the pool has slots).
 */
final class Upstreams {
  private Upstreams() {
  }

  static Upstream create(Vertx vertx, Deployment deployment, String baseUrl, WorkerBridge workers,
                         MeterRegistry registry) {
    if (deployment.provider().equals("bridge")) {
      return new BridgeUpstream(vertx, deployment, workers);
    }
    Pool pool = deployment.pool();
    boolean tls = baseUrl.startsWith("https:");
    HttpClientOptions options = new HttpClientOptions()
      .setConnectTimeout((int) deployment.connectTimeoutMillis())
      .setKeepAlive(true)
      .setTcpNoDelay(true)
      .setSsl(tls);
    PoolOptions poolOptions = new PoolOptions()
      .setHttp1MaxSize(pool.slots())
      // the slots' own queue is where calls wait; this one only bridges a connect or a provider's lower stream limit
      .setMaxWaitQueueSize(-1);
    if (pool.http2()) {
      options.setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false) // prior knowledge: no HTTP/1.1 upgrade round trip on plain http
        .setUseAlpn(tls)
        .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
        .setHttp2MultiplexingLimit(pool.http2MaxStreams())
        // a stream paused by a slow client holds at most its own window, never the connection's
        .setHttp2ConnectionWindowSize((int) Math.min(Integer.MAX_VALUE,
          (long) pool.http2MaxStreams() * Http2Settings.DEFAULT_INITIAL_WINDOW_SIZE));
      poolOptions.setHttp2MaxSize(pool.maxConnections());
    }
    HttpClientAgent client = vertx.httpClientBuilder().with(options).with(poolOptions)
      // an HTTP/1.1 connection is held for a whole stream: its 4 KB write queue, linked (an h2 one's streams are)
      .withConnectHandler(connection -> WriteQueues.link(connection)).build();
    UpstreamSlots slots = new UpstreamSlots(vertx, deployment, registry);
    return switch (deployment.provider()) {
      case "anthropic" -> new AnthropicUpstream(deployment, baseUrl, client, slots);
      case "openai", "simulator" -> new OpenAiUpstream(deployment, baseUrl, client, slots);
      case "azure" -> new AzureOpenAiUpstream(deployment, baseUrl, client, slots);
      case "gemini" -> new GeminiUpstream(deployment, baseUrl, client, slots);
      case "bedrock" -> new BedrockUpstream(vertx, deployment, baseUrl, client, slots);
      default -> throw new IllegalArgumentException("no upstream protocol for provider " + deployment.provider());
    };
  }
}
