package io.switchboard.vertx;

import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.impl.Http2ServerRequest;
import io.vertx.core.http.impl.Http2ServerResponse;
import io.vertx.core.http.impl.HttpClientRequestBase;
import io.vertx.core.internal.concurrent.OutboundMessageQueue;
import io.vertx.core.net.impl.VertxConnection;
import io.vertx.core.streams.impl.MessagePassingQueue;

import java.lang.reflect.Field;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Vert.x (5.0.10) gives every connection and every HTTP/2 stream a write queue of its own: an unbounded MPSC queue
 * whose first chunk is a 1,024-slot array (4 KB), allocated up front though writes only wait in it while the channel
 * is unwritable or when they come from another thread. An open stream keeps it for its whole life, and a node with
 * thousands of streams open pays it for each: the client's HTTP/1 connection (or, when the client speaks HTTP/2, its
 * stream), the upstream HTTP/2 stream (or HTTP/1.1 connection), the simulator's (42 KB to 29 KB per client socket,
 * perf/results/2026-12-03-many-streams-heap.md).
 * {@code link} swaps it, while still empty, for a linked queue with the same guarantees (unbounded, many producers,
 * one consumer) that costs a node per waiting write instead.
 * <p>
 * Call it on the producing thread before the first write. Each step checks what it finds and does nothing (false)
 * when Vert.x is not what it expects.
 */
public final class WriteQueues {
  private static final String COST = "open connections and streams keep more heap than they need";
  private static final Field CONNECTION_QUEUE = Internals.field(VertxConnection.class, "outboundMessageQueue", COST);
  private static final Field CLIENT_STREAM = Internals.field(HttpClientRequestBase.class, "stream", COST);
  private static final Field SERVER_STREAM = Internals.field(Http2ServerRequest.class, "stream", COST);
  private static final Field RESPONSE_STREAM = Internals.field(Http2ServerResponse.class, "stream", COST);
  private static final Class<?> HTTP2_STREAM = Internals.type("io.vertx.core.http.impl.VertxHttp2Stream", COST);
  private static final Field STREAM_QUEUE = Internals.field(HTTP2_STREAM, "outboundQueue", COST);
  private static final Field MESSAGE_CHANNEL = Internals.field(OutboundMessageQueue.class, "mqp", COST);
  private static final Field ELEMENTS = Internals.field(MessagePassingQueue.class, "queue", COST);

  private WriteQueues() {
  }

  /** The write queue of a connection (a WebSocket's, an HTTP/1 one's). */
  public static boolean link(VertxConnection connection) {
    return linkQueue(Internals.get(CONNECTION_QUEUE, connection));
  }

  /** The write queue of an HTTP/1 connection, on its event loop before it writes; false for HTTP/2 ones. */
  public static boolean link(HttpConnection connection) {
    return connection instanceof VertxConnection vertxConnection && link(vertxConnection);
  }

  /** The write queue of an HTTP/2 request's stream; false for HTTP/1, whose requests write through the connection's. */
  public static boolean link(HttpClientRequest request) {
    return request instanceof HttpClientRequestBase && linkStream(Internals.get(CLIENT_STREAM, request));
  }

  /** The write queue of the stream an HTTP/2 request arrived on; false for HTTP/1. */
  public static boolean link(HttpServerRequest request) {
    return request instanceof Http2ServerRequest && linkStream(Internals.get(SERVER_STREAM, request));
  }

  /**
   * The write queue of the stream an HTTP/2 response goes out on (an HTTP/2 connection has none of its own, its
   * streams do); false for HTTP/1, which writes through its connection's. Through the response because vertx-web's
   * request is a wrapper, while its response is Vert.x's own.
   */
  public static boolean link(HttpServerResponse response) {
    return response instanceof Http2ServerResponse && linkStream(Internals.get(RESPONSE_STREAM, response));
  }

  private static boolean linkStream(Object stream) {
    return HTTP2_STREAM != null && HTTP2_STREAM.isInstance(stream) && linkQueue(Internals.get(STREAM_QUEUE, stream));
  }

  private static boolean linkQueue(Object writes) {
    Object channel = writes instanceof OutboundMessageQueue<?> ? Internals.get(MESSAGE_CHANNEL, writes) : null;
    if (!(channel instanceof MessagePassingQueue.MpSc<?>)
      || !(Internals.get(ELEMENTS, channel) instanceof Queue<?> elements)
      || elements instanceof ConcurrentLinkedQueue<?> || !elements.isEmpty()) {
      return false;
    }
    return Internals.set(ELEMENTS, channel, new ConcurrentLinkedQueue<>());
  }
}
