package io.switchboard.connection;

import io.netty.channel.ChannelHandler;
import io.switchboard.vertx.Internals;
import io.switchboard.vertx.WriteQueues;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import io.vertx.core.net.impl.VertxHandler;

import java.lang.reflect.Field;

/**
 * What Vert.x (5.0.10) keeps for every open WebSocket that an idle one does not need: about 10 KB of its 16
 * (perf/results/2026-12-02-idle-websocket.md).
 * <ul>
 *   <li>The HTTP/1 connection it was upgraded from. The pipeline's new {@link VertxHandler} keeps the factory that
 *   built the WebSocket's connection; that lambda holds the handshake, its request and response, and the old
 *   connection with its own write queue. The factory runs once, when the handler is added: dropping it then lets all
 *   of that go.</li>
 *   <li>The WebSocket connection's write queue (4 KB), swapped while empty for a linked one
 *   ({@link WriteQueues}).</li>
 * </ul>
 * Each step checks what it finds and does nothing when Vert.x is not what it expects.
 */
final class WebSocketFootprint {
  private static final Field FACTORY = Internals.field(VertxHandler.class, "connectionFactory",
    "open WebSockets keep more heap than they need");

  /** What {@link #trim} let go of. */
  record Trimmed(boolean upgradedConnection, boolean writeQueue) {
  }

  private WebSocketFootprint() {
  }

  /**
   * Call on the connection's event loop once {@code upgradedFrom} became a WebSocket (on {@code toWebSocket()}'s
   * success, before anything is written to it).
   */
  static Trimmed trim(HttpConnection upgradedFrom) {
    if (!(upgradedFrom instanceof ConnectionBase http)) {
      return new Trimmed(false, false);
    }
    ChannelHandler handler = http.channel().pipeline().get(VertxHandler.class);
    if (!(handler instanceof VertxHandler<?> current) || current.getConnection() == null
      || current.getConnection() == http) {
      return new Trimmed(false, false); // not upgraded (yet): the factory may still be needed
    }
    return new Trimmed(Internals.set(FACTORY, current, null), WriteQueues.link(current.getConnection()));
  }
}
