import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Time to first token through the gateway, over SSE and over WebSocket, measured the same way: from
 * sending the request to the first piece of text arriving, one request at a time, interleaved.
 *
 *   java -cp verticles/target/switchboard.jar perf/websocket/FirstToken.java PORT REQUESTS
 */
public class FirstToken {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    int requests = Integer.parseInt(args[1]);
    Vertx vertx = Vertx.vertx();
    HttpClientAgent http = vertx.createHttpClient();
    WebSocketClient wsClient = vertx.createWebSocketClient(); // held: Vert.x closes clients nobody references
    WebSocket ws = wsClient.connect(new WebSocketConnectOptions().setHost("127.0.0.1")
      .setPort(port).setURI("/v1/ws")).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    Promise<Void>[] firstDelta = new Promise[1];
    ws.textMessageHandler(text -> {
      if (text.startsWith("{\"type\":\"delta\"") && firstDelta[0] != null) {
        firstDelta[0].tryComplete();
      }
    });
    long[] sse = new long[requests];
    long[] socket = new long[requests];
    String body = new JsonObject().put("model", "switchboard-simulator").put("stream", true)
      .put("messages", new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "user")
        .put("content", "first token please"))).encode();
    for (int i = -200; i < requests; i++) { // the first 200 warm up
      long start = System.nanoTime();
      Promise<Void> first = Promise.promise();
      http.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
          .setURI("/v1/chat/completions").putHeader("content-type", "application/json"))
        .compose(req -> req.send(Buffer.buffer(body)))
        .onSuccess(resp -> {
          resp.handler(chunk -> first.tryComplete());
        });
      first.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      long sseNanos = System.nanoTime() - start;
      Thread.sleep(5);
      start = System.nanoTime();
      firstDelta[0] = Promise.promise();
      ws.writeTextMessage(new JsonObject().put("type", "chat").put("id", "t" + i).put("model", "switchboard-simulator")
        .put("message", "first token please").encode());
      firstDelta[0].future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      long wsNanos = System.nanoTime() - start;
      if (i >= 0) {
        sse[i] = sseNanos;
        socket[i] = wsNanos;
      }
      Thread.sleep(5);
    }
    report("SSE", sse);
    report("WebSocket", socket);
    vertx.close();
  }

  static void report(String name, long[] nanos) {
    Arrays.sort(nanos);
    System.out.printf("%-10s time to first token over %d requests: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms%n", name,
      nanos.length, nanos[nanos.length / 2] / 1e6, nanos[(int) (nanos.length * 0.9)] / 1e6,
      nanos[(int) (nanos.length * 0.99)] / 1e6);
  }
}
