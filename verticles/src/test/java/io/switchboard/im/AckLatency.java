package io.switchboard.im;

import io.switchboard.im.PlatformCallbacks.Prepared;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Fires callbacks all at once, each on its own connection as platforms' many senders do, and measures for each the
 * time until its acknowledgement is back. A Vert.x client, so that the measuring side is not the bottleneck.
 */
final class AckLatency {
  record Stats(int callbacks, int acknowledged, double p50Millis, double p99Millis, double maxMillis) {
    @Override
    public String toString() {
      return String.format("%d concurrent callbacks, %d acknowledged with 200: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
        callbacks, acknowledged, p50Millis, p99Millis, maxMillis);
    }
  }

  private AckLatency() {
  }

  /** Sends {@code callbacks.get(i)} to {@code baseUrls.get(i)}, every one at the same time. */
  static Stats fire(Vertx vertx, List<Prepared> callbacks, List<String> baseUrls) throws Exception {
    HttpClientAgent client = vertx.httpClientBuilder()
      .with(new HttpClientOptions().setKeepAlive(false).setConnectTimeout(10_000))
      .with(new PoolOptions().setHttp1MaxSize(callbacks.size()).setMaxWaitQueueSize(-1))
      .build();
    try {
      List<Future<Long>> timings = new ArrayList<>();
      for (int i = 0; i < callbacks.size(); i++) {
        Prepared callback = callbacks.get(i);
        RequestOptions options = new RequestOptions().setAbsoluteURI(baseUrls.get(i) + callback.pathAndQuery())
          .setMethod(HttpMethod.valueOf(callback.method()));
        callback.headers().forEach(options::putHeader);
        long start = System.nanoTime();
        timings.add(client.request(options)
          .compose(request -> request.send(Buffer.buffer(callback.body())))
          .compose(response -> response.body().map(body -> response.statusCode() == 200
            ? System.nanoTime() - start : -1L)));
      }
      Future.join(timings).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      long[] nanos = timings.stream().mapToLong(Future::result).sorted().toArray();
      int ok = (int) Arrays.stream(nanos).filter(n -> n >= 0).count();
      return new Stats(nanos.length, ok, percentile(nanos, 0.50), percentile(nanos, 0.99),
        nanos[nanos.length - 1] / 1e6);
    } finally {
      client.close();
    }
  }

  private static double percentile(long[] sorted, double p) {
    int index = (int) Math.ceil(p * sorted.length) - 1;
    return sorted[Math.max(0, index)] / 1e6;
  }
}
