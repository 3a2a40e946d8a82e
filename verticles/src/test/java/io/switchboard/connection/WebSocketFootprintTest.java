package io.switchboard.connection;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An open WebSocket holds only what it needs: not the HTTP connection it came from, nor a 4 KB empty write queue. */
class WebSocketFootprintTest {
  private static Vertx vertx;
  private static HttpServer server;
  private static WebSocketClient client;
  /** Each upgrade, as the server saw it: the HTTP connection (weakly), what was trimmed, the WebSocket. */
  private static final BlockingQueue<Upgrade> upgrades = new LinkedBlockingQueue<>();

  record Upgrade(WeakReference<HttpConnection> from, WebSocketFootprint.Trimmed trimmed, ServerWebSocket socket) {
  }

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(request -> {
      HttpConnection from = request.connection();
      boolean trim = !"/untrimmed".equals(request.path());
      request.toWebSocket().onSuccess(socket -> {
        socket.textMessageHandler(text -> socket.writeTextMessage("echo " + text));
        upgrades.add(new Upgrade(new WeakReference<>(from), trim ? WebSocketFootprint.trim(from) : null, socket));
      });
    });
    server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    client = vertx.createWebSocketClient();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static WebSocket connect(String path, BlockingQueue<String> received) throws Exception {
    WebSocket socket = client.connect(server.actualPort(), "127.0.0.1", path)
      .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    socket.textMessageHandler(received::add);
    return socket;
  }

  /** True when the referent was collected within a few seconds of asking for collections. */
  private static boolean collected(WeakReference<?> reference) throws InterruptedException {
    for (int i = 0; i < 50 && reference.get() != null; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return reference.get() == null;
  }

  @Test
  void an_open_websocket_lets_go_of_the_http_connection_it_was_upgraded_from() throws Exception {
    BlockingQueue<String> received = new LinkedBlockingQueue<>();
    WebSocket socket = connect("/v1/ws", received);
    Upgrade upgrade = upgrades.poll(10, TimeUnit.SECONDS);
    assertNotNull(upgrade);
    assertEquals(new WebSocketFootprint.Trimmed(true, true), upgrade.trimmed());
    assertTrue(collected(upgrade.from()), "the HTTP/1 connection is garbage while the WebSocket is open");
    socket.writeTextMessage("still there?");
    assertEquals("echo still there?", received.poll(10, TimeUnit.SECONDS));
    socket.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void without_the_trim_vertx_keeps_the_http_connection_for_the_life_of_the_websocket() throws Exception {
    // why the trim exists: if this fails, Vert.x lets go by itself and WebSocketFootprint's first step can go
    WebSocket socket = connect("/untrimmed", new LinkedBlockingQueue<>());
    Upgrade upgrade = upgrades.poll(10, TimeUnit.SECONDS);
    assertNotNull(upgrade);
    assertFalse(collected(upgrade.from()), "Vert.x 5.0.10 keeps the upgraded HTTP connection");
    socket.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void writes_from_other_threads_arrive_whole_and_in_order_through_the_smaller_write_queue() throws Exception {
    List<String> received = Collections.synchronizedList(new ArrayList<>());
    int count = 5_000;
    CountDownLatch all = new CountDownLatch(count);
    WebSocket socket = client.connect(server.actualPort(), "127.0.0.1", "/v1/ws")
      .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    socket.textMessageHandler(text -> {
      received.add(text);
      all.countDown();
    });
    Upgrade upgrade = upgrades.poll(10, TimeUnit.SECONDS);
    assertNotNull(upgrade);
    assertTrue(upgrade.trimmed().writeQueue());
    CompletableFuture<Void> closed = new CompletableFuture<>();
    upgrade.socket().closeHandler(v -> closed.complete(null));
    Thread[] writers = new Thread[2]; // off the event loop: every write waits in the queue for it
    for (int w = 0; w < writers.length; w++) {
      int writer = w;
      writers[w] = new Thread(() -> {
        for (int i = writer; i < count; i += writers.length) {
          upgrade.socket().writeTextMessage(writer + ":" + i);
        }
      });
      writers[w].start();
    }
    for (Thread writer : writers) {
      writer.join(10_000);
    }
    assertTrue(all.await(20, TimeUnit.SECONDS), "received " + received.size() + " of " + count);
    for (int w = 0; w < writers.length; w++) {
      String prefix = w + ":";
      List<Integer> order = received.stream().filter(t -> t.startsWith(prefix))
        .map(t -> Integer.parseInt(t.substring(prefix.length()))).toList();
      assertEquals(count / writers.length, order.size());
      for (int i = 1; i < order.size(); i++) {
        assertEquals(order.get(i - 1) + writers.length, order.get(i), "writer " + w + " in order");
      }
    }
    socket.close((short) 1000, "done");
    closed.get(10, TimeUnit.SECONDS); // the close handshake still goes through the queue
    assertEquals((short) 1000, upgrade.socket().closeStatusCode());
    assertEquals("done", upgrade.socket().closeReason());
  }
}
