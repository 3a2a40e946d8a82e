package io.switchboard.perf;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.parsetools.RecordParser;

import java.io.IOException;
import java.net.URI;

/**
 * POST /v1/chat/completions, plain JSON or SSE ({@code "stream": true}). A JSON answer is ok when its status is
 * 200 and it has "choices". A stream is ok when its status is 200, it is text/event-stream, some chunk carries
 * content and it ends with {@code data: [DONE]}; its first and last content chunks give the time to first and
 * to last token.
 */
final class HttpTarget extends Target {
  /**
   * Connections per client. Vert.x's pool does work in proportion to its size on every acquire, so one pool of
   * 9,000 connections held the generator's event loop for seconds at 1,000 new streams a second; pools of this
   * size, taken in turn, keep that cost flat.
   */
  private static final int CONNECTIONS_PER_CLIENT = 256;
  /** Below the gateway's idle timeout (server.idle_timeout_ms, 60 s by default) and nginx's keepalive_timeout (75 s). */
  private static final int KEEP_ALIVE_SECONDS = 30;
  private final boolean stream;
  private final HttpClientAgent[] clients;
  private int next;
  private final RequestOptions request;
  private final Buffer body;

  HttpTarget(Vertx vertx, URI uri, Settings settings, boolean stream) throws IOException {
    super(vertx, uri, settings);
    this.stream = stream;
    int count = (settings.connections + CONNECTIONS_PER_CLIENT - 1) / CONNECTIONS_PER_CLIENT;
    this.clients = new HttpClientAgent[count];
    for (int i = 0; i < count; i++) {
      int size = settings.connections / count + (i < settings.connections % count ? 1 : 0);
      clients[i] = vertx.httpClientBuilder()
        // a pooled connection is dropped 30 s after its last use, before the gateway's own 60 s idle timeout: the
        // generator never sends on a connection the server is closing at that moment (the keep-alive race, which
        // a POST cannot be retried over and would count as an error of the target)
        .with(new HttpClientOptions().setKeepAlive(true).setKeepAliveTimeout(KEEP_ALIVE_SECONDS).setTcpNoDelay(true)
          .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, settings.timeoutMillis)))
        .with(new PoolOptions().setHttp1MaxSize(size).setMaxWaitQueueSize(-1))
        .build();
    }
    this.request = new RequestOptions().setMethod(HttpMethod.POST).setHost(uri.getHost()).setPort(port())
      .setURI(path("/v1/chat/completions")).putHeader("content-type", "application/json")
      .putHeader("accept", stream ? "text/event-stream" : "application/json");
    if (settings.apiKey != null) {
      request.putHeader(settings.apiKeyHeader,
        settings.apiKeyHeader.equals("authorization") ? "Bearer " + settings.apiKey : settings.apiKey);
    }
    settings.headers.forEach(request::putHeader);
    this.body = settings.chatBody(stream);
  }

  @Override
  Future<Void> fire(long intendedNanos) {
    Call call = new Call(vertx, stats, intendedNanos, settings.timeoutMillis);
    HttpClientAgent client = clients[next];
    next = (next + 1) % clients.length;
    client.request(request).compose(req -> {
      if (call.isOver()) { // timed out while waiting for a pooled connection
        return req.reset().compose(v -> Future.failedFuture("timeout"));
      }
      call.onTimeout(req::reset);
      return req.send(body);
    }).onComplete(sent -> {
      if (sent.failed()) {
        call.fail(Call.kindOf(sent.cause()));
      } else if (sent.result().statusCode() != 200) {
        call.fail("http " + sent.result().statusCode());
        sent.result().end();
      } else if (stream) {
        readStream(sent.result(), call);
      } else {
        sent.result().body().onComplete(read -> {
          if (read.failed()) {
            call.fail(Call.kindOf(read.cause()));
          } else if (!read.result().toString().contains("\"choices\"")) {
            call.fail("answer without choices");
          } else {
            call.ok();
          }
        });
      }
    });
    return call.future();
  }

  private void readStream(HttpClientResponse response, Call call) {
    String type = response.getHeader("content-type");
    if (type == null || !type.startsWith("text/event-stream")) {
      call.fail("stream: content-type " + type);
      response.end();
      return;
    }
    SseEvents events = new SseEvents();
    RecordParser lines = RecordParser.newDelimited("\n", response);
    lines.handler(events::line);
    lines.exceptionHandler(failure -> call.fail(Call.kindOf(failure)));
    lines.endHandler(v -> {
      String problem = events.problem();
      if (problem != null) {
        call.fail(problem);
      } else if (call.ok()) {
        stats.tokens(call.intendedNanos(), events.firstContentNanos, events.lastContentNanos);
      }
    });
  }

  @Override
  Future<Void> close() {
    return Future.all(java.util.Arrays.stream(clients).map(HttpClientAgent::close).toList()).mapEmpty();
  }

  /** What one SSE stream said, line by line: when content came, and whether it ended with [DONE]. */
  static final class SseEvents {
    long firstContentNanos;
    long lastContentNanos;
    private boolean done;
    private boolean dataAfterDone;

    void line(Buffer raw) {
      String line = raw.toString();
      if (!line.startsWith("data:")) {
        return; // blank separators, comments, event: and id: lines
      }
      String data = line.substring(5).strip();
      if (done) {
        dataAfterDone = true;
      } else if (data.equals("[DONE]")) {
        done = true;
      } else if (hasContent(data)) {
        lastContentNanos = System.nanoTime();
        if (firstContentNanos == 0) {
          firstContentNanos = lastContentNanos;
        }
      }
    }

    String problem() {
      if (!done) {
        return "stream: no [DONE]";
      }
      if (dataAfterDone) {
        return "stream: data after [DONE]";
      }
      return firstContentNanos == 0 ? "stream: no content" : null;
    }

    /**
     * Whether a chunk carries a piece of the answer: a non-empty string "content" (the first chunk often has
     * "content":"") or a tool call's "arguments" fragment.
     */
    static boolean hasContent(String json) {
      return hasNonEmpty(json, "\"content\"") || hasNonEmpty(json, "\"arguments\"");
    }

    private static boolean hasNonEmpty(String json, String field) {
      for (int at = json.indexOf(field); at >= 0; at = json.indexOf(field, at + 1)) {
        int i = at + field.length();
        while (i < json.length() && (json.charAt(i) == ' ' || json.charAt(i) == ':')) {
          i++;
        }
        if (i + 1 < json.length() && json.charAt(i) == '"' && json.charAt(i + 1) != '"') {
          return true;
        }
      }
      return false;
    }
  }
}
