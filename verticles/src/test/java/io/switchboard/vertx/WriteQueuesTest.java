package io.switchboard.vertx;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.impl.Http1xClientConnection;
import io.vertx.core.http.impl.Http1xServerConnection;
import io.vertx.core.http.impl.Http2ServerRequest;
import io.vertx.core.http.impl.HttpClientRequestBase;
import io.vertx.core.http.RequestOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An HTTP/2 stream, either end, and an HTTP/1 connection write through a linked queue instead of holding a 4 KB one,
 * and lose nothing.
 */
class WriteQueuesTest {
  private static final int LINES = 4_000;
  private static Vertx vertx;
  private static HttpServer server;
  private static HttpClient h2;
  private static HttpClient h1;
  /** What the server saw of each request: whether its stream's queue was linked, and the request. */
  private static final BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();

  record Seen(boolean linked, HttpServerRequest request) {
  }

  /** Each connection the server took: whether it is HTTP/1, whether its write queue was linked. */
  private static final BlockingQueue<Connected> connections = new LinkedBlockingQueue<>();

  record Connected(boolean http1, boolean linked) {
  }

  /** The same for the HTTP/1 client's connections, as the gateway's upstream pools link them. */
  private static final BlockingQueue<Connected> clientConnections = new LinkedBlockingQueue<>();

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().connectionHandler(connection ->
      connections.add(new Connected(connection instanceof Http1xServerConnection, WriteQueues.link(connection)))
    ).requestHandler(request -> {
      // by the response, as the gateway's event streams link theirs, or by the request
      boolean linked = request.path().equals("/by-response") ? WriteQueues.link(request.response())
        : WriteQueues.link(request);
      seen.add(new Seen(linked, request));
      if (request.path().equals("/echo")) {
        // the answer is written from two threads that are not the event loop: each write waits in the queue
        Context context = vertx.getOrCreateContext();
        request.body().onSuccess(body -> {
          request.response().setChunked(true).writeHead();
          writeFromTwoThreads(i -> request.response().write(line(i))).thenRun(() -> context.runOnContext(v ->
            request.response().end("body " + lines(body.toString()) + "\n")));
        });
      } else {
        request.response().end("ok");
      }
    });
    server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    h2 = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
      .setHttp2ClearTextUpgrade(false));
    h1 = vertx.httpClientBuilder().withConnectHandler(connection ->
      clientConnections.add(new Connected(connection instanceof Http1xClientConnection, WriteQueues.link(connection))))
      .build();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static Buffer line(int i) {
    return Buffer.buffer((i % 2) + ":" + i + "\n");
  }

  /** Line i is written by thread i % 2, in order; completes once both threads are done. */
  private static CompletableFuture<Void> writeFromTwoThreads(IntFunction<?> write) {
    List<CompletableFuture<Void>> writers = new ArrayList<>();
    for (int w = 0; w < 2; w++) {
      int writer = w;
      writers.add(CompletableFuture.runAsync(() -> {
        for (int i = writer; i < LINES; i += 2) {
          write.apply(i);
        }
      }, runnable -> new Thread(runnable).start()));
    }
    return CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new));
  }

  /** "ok" when every writer's lines are all there and in order, else what is wrong. */
  private static String lines(String text) {
    List<List<Integer>> byWriter = List.of(new ArrayList<>(), new ArrayList<>());
    for (String line : text.split("\n")) {
      if (line.length() > 2 && Character.isDigit(line.charAt(0)) && line.charAt(1) == ':') {
        byWriter.get(line.charAt(0) - '0').add(Integer.parseInt(line.substring(2)));
      }
    }
    for (int w = 0; w < 2; w++) {
      List<Integer> order = byWriter.get(w);
      if (order.size() != LINES / 2) {
        return "writer " + w + " sent " + LINES / 2 + " lines, " + order.size() + " arrived";
      }
      for (int i = 0; i < order.size(); i++) {
        if (order.get(i) != w + 2 * i) {
          return "writer " + w + ": line " + order.get(i) + " where " + (w + 2 * i) + " was due";
        }
      }
    }
    return "ok";
  }

  /** The elements of the write queue of the stream behind a request (either end), by the same fields. */
  private static Object writeQueueElements(Object request, Class<?> requestType) throws Exception {
    Object stream = read(requestType, "stream", request);
    Object outbound = read(Class.forName("io.vertx.core.http.impl.VertxHttp2Stream"), "outboundQueue", stream);
    Object channel = read(io.vertx.core.internal.concurrent.OutboundMessageQueue.class, "mqp", outbound);
    return read(io.vertx.core.streams.impl.MessagePassingQueue.class, "queue", channel);
  }

  private static Object read(Class<?> type, String name, Object target) throws Exception {
    Field field = type.getDeclaredField(name);
    field.setAccessible(true);
    return field.get(target);
  }

  private static Future<HttpClientRequest> request(HttpClient client, String path) {
    return client.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
      .setPort(server.actualPort()).setURI(path));
  }

  /**
   * Runs an exchange on a context of its own, as the gateway does (a response's handlers must be set on its
   * context before it arrives), and waits for its outcome.
   */
  private static <T> T exchange(Supplier<Future<T>> exchange) throws Exception {
    CompletableFuture<T> outcome = new CompletableFuture<>();
    vertx.getOrCreateContext().runOnContext(v -> exchange.get().onComplete((result, failure) -> {
      if (failure != null) {
        outcome.completeExceptionally(failure);
      } else {
        outcome.complete(result);
      }
    }));
    return outcome.get(30, TimeUnit.SECONDS);
  }

  @Test
  void an_http2_stream_at_either_end_swaps_its_4_kb_queue_for_a_linked_one() throws Exception {
    List<Object> queues = new ArrayList<>();
    List<Boolean> linked = new ArrayList<>();
    String answer = exchange(() -> request(h2, "/small").compose(request -> {
      try {
        queues.add(writeQueueElements(request, HttpClientRequestBase.class));
        linked.add(WriteQueues.link(request));
        queues.add(writeQueueElements(request, HttpClientRequestBase.class));
        linked.add(WriteQueues.link(request));
      } catch (Exception e) {
        return Future.failedFuture(e);
      }
      return request.send().compose(HttpClientResponse::body).map(Buffer::toString);
    }));
    assertEquals("ok", answer);
    // why this exists: if Vert.x stops allocating the chunked array up front, the swap can go
    assertTrue(queues.get(0).getClass().getName().contains("MpscUnboundedArrayQueue"), queues.get(0).toString());
    assertEquals(List.of(true, false), linked, "linked once; a queue already linked is left as it is");
    assertInstanceOf(ConcurrentLinkedQueue.class, queues.get(1));
    Seen server = seen.poll(10, TimeUnit.SECONDS);
    assertNotNull(server);
    assertTrue(server.linked(), "the server's stream too");
    assertInstanceOf(ConcurrentLinkedQueue.class, writeQueueElements(server.request(), Http2ServerRequest.class));
  }

  @Test
  void a_server_stream_is_linked_by_its_response_too() throws Exception {
    assertEquals("ok", exchange(() -> request(h2, "/by-response").compose(request -> request.send()
      .compose(HttpClientResponse::body).map(Buffer::toString))));
    Seen server = seen.poll(10, TimeUnit.SECONDS);
    assertNotNull(server);
    assertTrue(server.linked(), "an HTTP/2 response's stream");
    // the request's stream is the one the response linked
    assertInstanceOf(ConcurrentLinkedQueue.class, writeQueueElements(server.request(), Http2ServerRequest.class));
  }

  @Test
  void writes_from_other_threads_through_linked_queues_arrive_whole_and_in_order() throws Exception {
    List<Boolean> linked = new ArrayList<>();
    String answer = exchange(() -> request(h2, "/echo").compose(request -> {
      linked.add(WriteQueues.link(request));
      Context context = vertx.getOrCreateContext();
      request.setChunked(true);
      Future<Buffer> answered = request.response().compose(HttpClientResponse::body);
      return request.sendHead().compose(head -> { // the head on the context, then the body from elsewhere
        writeFromTwoThreads(i -> request.write(line(i))).thenRun(() -> context.runOnContext(v -> request.end()));
        return answered.map(Buffer::toString);
      });
    }));
    assertEquals(List.of(true), linked);
    Seen server = seen.poll(10, TimeUnit.SECONDS);
    assertNotNull(server);
    assertTrue(server.linked());
    assertEquals("ok", lines(answer), "the server's answer, written from two threads");
    assertTrue(answer.endsWith("body ok\n"), "the client's body, written from two threads: "
      + answer.substring(Math.max(0, answer.lastIndexOf("body"))));
  }

  @Test
  void http1_requests_write_through_their_connection_and_are_left_alone() throws Exception {
    List<Boolean> linked = new ArrayList<>();
    int status = exchange(() -> request(h1, "/small").compose(request -> {
      linked.add(WriteQueues.link(request));
      return request.send().compose(response -> response.body().map(body -> response.statusCode()));
    }));
    assertEquals(200, status);
    assertEquals(List.of(false), linked);
    Seen server = seen.poll(10, TimeUnit.SECONDS);
    assertNotNull(server);
    assertFalse(server.linked());
    // but the connection's own queue is: the server's side of it
    assertTrue(connections.stream().anyMatch(c -> c.http1() && c.linked()), connections.toString());
    assertTrue(connections.stream().noneMatch(c -> c.http1() && !c.linked()), connections.toString());
    assertEquals(new Connected(true, true), clientConnections.poll(10, TimeUnit.SECONDS), "and the client's side");
  }
}
