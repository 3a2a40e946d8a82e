package io.switchboard.vertx;

import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.impl.Http2ServerRequest;
import io.vertx.core.http.impl.HttpClientRequestBase;
import io.vertx.core.internal.concurrent.OutboundMessageQueue;
import io.vertx.core.net.impl.VertxConnection;
import io.vertx.core.streams.impl.MessagePassingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Vert.x (5.0.10) gives every connection and every HTTP/2 stream a write queue of its own: an unbounded MPSC queue
 * whose first chunk is a 1,024-slot array (4 KB), allocated up front though writes only wait in it while the channel
 * is unwritable or when they come from another thread. An open stream keeps it for its whole life, and a node with
 * thousands of streams open pays it for each: the client's connection, the upstream HTTP/2 stream, the simulator's
 * (42 KB to 29 KB per client socket, perf/results/2026-12-03-many-streams-heap.md). {@code link} swaps it, while
 * still empty, for a linked queue with the same guarantees (unbounded, many producers, one consumer) that costs a
 * node per waiting write instead.
 * <p>
 * Call it on the producing thread before the first write. Each step checks what it finds and does nothing (false)
 * when Vert.x is not what it expects.
 */
public final class WriteQueues {
  private static final Logger LOG = LoggerFactory.getLogger(WriteQueues.class);
  private static final Field CONNECTION_QUEUE = field(VertxConnection.class, "outboundMessageQueue");
  private static final Field CLIENT_STREAM = field(HttpClientRequestBase.class, "stream");
  private static final Field SERVER_STREAM = field(Http2ServerRequest.class, "stream");
  private static final Class<?> HTTP2_STREAM = type("io.vertx.core.http.impl.VertxHttp2Stream");
  private static final Field STREAM_QUEUE = HTTP2_STREAM == null ? null : field(HTTP2_STREAM, "outboundQueue");
  private static final Field MESSAGE_CHANNEL = field(OutboundMessageQueue.class, "mqp");
  private static final Field ELEMENTS = field(MessagePassingQueue.class, "queue");

  private WriteQueues() {
  }

  /** The write queue of a connection (a WebSocket's, an HTTP/1 one's). */
  public static boolean link(VertxConnection connection) {
    return linkQueue(get(CONNECTION_QUEUE, connection));
  }

  /** The write queue of an HTTP/1 connection, on its event loop before it writes; false for HTTP/2 ones. */
  public static boolean link(HttpConnection connection) {
    return connection instanceof VertxConnection vertxConnection && link(vertxConnection);
  }

  /** The write queue of an HTTP/2 request's stream; false for HTTP/1, whose requests write through the connection's. */
  public static boolean link(HttpClientRequest request) {
    return request instanceof HttpClientRequestBase ? linkStream(get(CLIENT_STREAM, request)) : false;
  }

  /** The write queue of the stream an HTTP/2 request arrived on; false for HTTP/1. */
  public static boolean link(HttpServerRequest request) {
    return request instanceof Http2ServerRequest ? linkStream(get(SERVER_STREAM, request)) : false;
  }

  private static boolean linkStream(Object stream) {
    return HTTP2_STREAM != null && HTTP2_STREAM.isInstance(stream) && linkQueue(get(STREAM_QUEUE, stream));
  }

  private static boolean linkQueue(Object writes) {
    Object channel = writes instanceof OutboundMessageQueue<?> ? get(MESSAGE_CHANNEL, writes) : null;
    if (!(channel instanceof MessagePassingQueue.MpSc<?>) || !(get(ELEMENTS, channel) instanceof Queue<?> elements)
      || elements instanceof ConcurrentLinkedQueue<?> || !elements.isEmpty()) {
      return false;
    }
    try {
      ELEMENTS.set(channel, new ConcurrentLinkedQueue<>());
      return true;
    } catch (IllegalAccessException | RuntimeException e) {
      return false;
    }
  }

  private static Object get(Field field, Object target) {
    if (field == null || target == null) {
      return null;
    }
    try {
      return field.get(target);
    } catch (IllegalAccessException | RuntimeException e) {
      return null;
    }
  }

  private static Class<?> type(String name) {
    try {
      return Class.forName(name, false, WriteQueues.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      LOG.info("open HTTP/2 streams keep more heap than they need: {} is not there ({})", name, e.toString());
      return null;
    }
  }

  private static Field field(Class<?> type, String name) {
    try {
      Field field = type.getDeclaredField(name);
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.info("open connections and streams keep more heap than they need: {}.{} is not there ({})",
        type.getSimpleName(), name, e.toString());
      return null;
    }
  }
}
