import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Opens N WebSocket chat connections to a gateway on loopback and holds them idle, spreading them over
 * source addresses 127.0.0.2..127.0.0.k so that more than one source address's worth of ports (~28k) can
 * be used. Prints progress, then how many stayed open after the hold time. Bounded: it stops by itself.
 *
 *   java -cp verticles/target/switchboard.jar perf/websocket/IdleWebSockets.java PORT COUNT HOLD_SECONDS
 */
public class IdleWebSockets {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    int count = Integer.parseInt(args[1]);
    int holdSeconds = Integer.parseInt(args[2]);
    int perSource = 20_000;
    Vertx vertx = Vertx.vertx();
    List<WebSocketClient> clients = new ArrayList<>();
    for (int i = 0; i * perSource < count; i++) {
      clients.add(vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(perSource + 1)
        .setLocalAddress("127.0.0." + (2 + i)).setConnectTimeout(30_000)));
    }
    AtomicInteger open = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicInteger closed = new AtomicInteger();
    long start = System.nanoTime();
    int batch = 500;
    for (int sent = 0; sent < count; sent += batch) {
      List<Future<?>> wave = new ArrayList<>();
      for (int i = sent; i < Math.min(count, sent + batch); i++) {
        WebSocketClient client = clients.get(i / perSource);
        wave.add(client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI("/v1/ws"))
          .onSuccess(ws -> {
            open.incrementAndGet();
            ws.closeHandler(v -> closed.incrementAndGet());
          })
          .onFailure(e -> failed.incrementAndGet()));
      }
      Future.join(wave).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      if ((sent / batch) % 20 == 0) {
        System.out.printf("%d open, %d failed, %.1f s%n", open.get(), failed.get(), (System.nanoTime() - start) / 1e9);
      }
    }
    System.out.printf("opened %d (%d failed) in %.1f s; holding for %d s%n", open.get(), failed.get(),
      (System.nanoTime() - start) / 1e9, holdSeconds);
    Thread.sleep(holdSeconds * 1000L);
    System.out.printf("after %d s idle: %d still open, %d closed by the server%n", holdSeconds,
      open.get() - closed.get(), closed.get());
    vertx.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
