package io.switchboard.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.impl.headers.HeadersMultiMap;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

import java.util.concurrent.TimeUnit;

/**
 * The headers the gateway writes on every JSON answer (request id, cache, deployment, content type), set on a
 * response's header map and encoded as Vert.x does for the wire: names and fixed values given as Strings (what the
 * connection verticle did) against ASCII strings made once ({@code HttpHeaders.createOptimized}, what it does now).
 * The request id and the deployment are per-request Strings in both.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HeadersBenchmark {
  private static final CharSequence REQUEST_ID = HttpHeaders.createOptimized("x-request-id");
  private static final CharSequence CACHE = HttpHeaders.createOptimized("x-switchboard-cache");
  private static final CharSequence DEPLOYMENT = HttpHeaders.createOptimized("x-switchboard-deployment");
  private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");

  private final String requestId = "req_0123456789abcdef01234567";
  private final String deployment = "static.0";
  private final ByteBuf out = Unpooled.buffer(1024);

  @Benchmark
  public int strings() {
    HeadersMultiMap headers = HeadersMultiMap.httpHeaders();
    headers.set("x-request-id", requestId);
    headers.set("x-switchboard-cache", "bypass");
    headers.set("x-switchboard-deployment", deployment);
    headers.set("content-type", "application/json");
    return encoded(headers);
  }

  @Benchmark
  public int ascii() {
    HeadersMultiMap headers = HeadersMultiMap.httpHeaders();
    headers.set(REQUEST_ID, requestId);
    headers.set(CACHE, "bypass");
    headers.set(DEPLOYMENT, deployment);
    headers.set(HttpHeaders.CONTENT_TYPE, JSON);
    return encoded(headers);
  }

  private int encoded(HeadersMultiMap headers) {
    out.clear();
    headers.encode(out, false);
    return out.writerIndex();
  }
}
