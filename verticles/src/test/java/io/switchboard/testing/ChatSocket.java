package io.switchboard.testing;

import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A real WebSocket client speaking Switchboard's chat protocol, with blocking reads for tests. */
public final class ChatSocket implements AutoCloseable {
  private final WebSocket socket;
  private final BlockingQueue<JsonObject> received = new LinkedBlockingQueue<>();
  private final CompletableFuture<Short> closed = new CompletableFuture<>();

  private ChatSocket(WebSocket socket) {
    this.socket = socket;
    socket.textMessageHandler(text -> received.add(new JsonObject(text)));
    socket.closeHandler(v -> closed.complete(socket.closeStatusCode()));
  }

  /** {@code client} must outlive the socket (Vert.x closes clients nobody holds on to). */
  public static ChatSocket connect(WebSocketClient client, int port, String... headers) throws Exception {
    WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
      .setURI("/v1/ws");
    for (int i = 0; i + 1 < headers.length; i += 2) {
      options.addHeader(headers[i], headers[i + 1]);
    }
    // handlers are set on the event loop as the socket opens, so a greeting sent at once is not missed
    return client.connect(options).map(ChatSocket::new).toCompletionStage().toCompletableFuture()
      .get(10, TimeUnit.SECONDS);
  }

  public ChatSocket send(JsonObject message) {
    socket.writeTextMessage(message.encode());
    return this;
  }

  public JsonObject next() throws InterruptedException {
    JsonObject message = received.poll(10, TimeUnit.SECONDS);
    if (message == null) {
      throw new AssertionError("no message within 10 s");
    }
    return message;
  }

  /** The next message that matches, skipping others. */
  public JsonObject next(Predicate<JsonObject> wanted) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 10_000;
    while (System.currentTimeMillis() < deadline) {
      JsonObject message = received.poll(deadline - System.currentTimeMillis(), TimeUnit.MILLISECONDS);
      if (message != null && wanted.test(message)) {
        return message;
      }
    }
    throw new AssertionError("no matching message within 10 s");
  }

  public WebSocket raw() {
    return socket;
  }

  /** The close code the server sent, once the socket closed. */
  public short closeCode(long timeoutMillis) throws Exception {
    return closed.get(timeoutMillis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    socket.close();
  }
}
