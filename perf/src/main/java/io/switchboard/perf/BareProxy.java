package io.switchboard.perf;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.transport.Transport;

/**
 * The floor under the gateway: the least a Vert.x HTTP server and client can do to forward a request, with no
 * gateway in between — the request body read whole and sent with the client's content type on one pooled keep-alive
 * upstream request, the upstream's status, content type and body relayed as they come (each buffer its own write for
 * a stream). It parses nothing. The external-upstream
 * scenario runs it beside nginx to tell what Vert.x itself costs a hop from what Switchboard adds.
 *
 * <pre>java -cp perf/target/switchboard-perf.jar io.switchboard.perf.BareProxy port=8082 upstream=8091 transport=epoll</pre>
 */
public final class BareProxy {
  private BareProxy() {
  }

  public static void main(String[] args) {
    int port = 8082;
    int upstream = 8091;
    String transport = "epoll";
    for (String arg : args) {
      String[] pair = arg.split("=", 2);
      switch (pair[0]) {
        case "port" -> port = Integer.parseInt(pair[1]);
        case "upstream" -> upstream = Integer.parseInt(pair[1]);
        case "transport" -> transport = pair[1];
        default -> {
          System.err.println("bare proxy: unknown argument " + arg + " (port, upstream, transport)");
          System.exit(2);
        }
      }
    }
    Transport chosen = "epoll".equals(transport) && Transport.EPOLL.available() ? Transport.EPOLL : Transport.NIO;
    Vertx vertx = Vertx.builder().with(new VertxOptions().setEventLoopPoolSize(1)).withTransport(chosen).build();
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
      new PoolOptions().setHttp1MaxSize(256));
    RequestOptions target = new RequestOptions().setHost("127.0.0.1").setPort(upstream).setMethod(HttpMethod.POST);
    int p = port;
    int u = upstream;
    vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true)).requestHandler(in -> in.body()
      .compose(body -> client.request(new RequestOptions(target).setURI(in.uri()))
        .compose(out -> {
          String type = in.getHeader("content-type");
          if (type != null) {
            out.putHeader("content-type", type);
          }
          return out.send(body);
        }))
      .onSuccess(answer -> {
        in.response().setStatusCode(answer.statusCode());
        String type = answer.getHeader("content-type");
        if (type != null) {
          in.response().putHeader("content-type", type);
        }
        if (answer.getHeader("content-length") != null) {
          answer.body().onSuccess(in.response()::end).onFailure(e -> in.response().setStatusCode(502).end());
        } else {
          in.response().setChunked(true);
          answer.handler(in.response()::write);
          answer.endHandler(v -> in.response().end());
        }
      })
      .onFailure(e -> in.response().setStatusCode(502).end(e.toString())))
      .listen(port, "127.0.0.1")
      .onSuccess(s -> System.out.printf("bare proxy on http://127.0.0.1:%d -> 127.0.0.1:%d (%s)%n", p, u,
        chosen.name()))
      .onFailure(e -> {
        System.err.println("bare proxy: " + e);
        System.exit(1);
      });
  }
}
