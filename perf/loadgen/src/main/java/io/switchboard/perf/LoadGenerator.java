package io.switchboard.perf;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.parsetools.RecordParser;

import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An open-loop load generator: requests are issued at fixed intended times (a constant arrival rate) and
 * each latency is measured from its intended time, so a slow server cannot hide its latency by slowing the
 * generator down (no coordinated omission). HTTP JSON, SSE streaming and WebSocket chat; several targets
 * are interleaved request by request in one run. Loopback targets only. Bounded: it stops by itself.
 *
 * <pre>java -jar loadgen.jar mode=json rate=2000 duration=30 targets=http://127.0.0.1:8080,http://127.0.0.1:8090</pre>
 */
public final class LoadGenerator {
  private final Settings settings;
  private final Vertx vertx = Vertx.vertx();
  private final List<Target> targets = new ArrayList<>();

  private LoadGenerator(Settings settings) {
    this.settings = settings;
  }

  public static void main(String[] args) throws Exception {
    Settings settings = Settings.parse(args);
    LoadGenerator generator = new LoadGenerator(settings);
    try {
      generator.run();
    } finally {
      generator.vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private void run() throws Exception {
    for (String url : settings.targets) {
      targets.add(new Target(vertx, URI.create(url), settings));
    }
    if (settings.mode.equals("ws")) {
      for (Target target : targets) {
        target.openSockets(settings.connections).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
    }
    System.out.printf("%s at %d req/s for %d s (+%d s warm-up) against %s%n", settings.mode, settings.rate,
      settings.durationSeconds, settings.warmupSeconds, settings.targets);
    drive(settings.warmupSeconds, false);
    targets.forEach(Target::reset);
    Instant started = Instant.now();
    drive(settings.durationSeconds, true);
    Report report = new Report(settings, started, targets);
    report.print();
    if (settings.out != null) {
      Files.createDirectories(Path.of(settings.out).toAbsolutePath().getParent());
      Files.writeString(Path.of(settings.out), report.json().encodePrettily());
      System.out.println("wrote " + settings.out);
    }
  }

  /** Issues requests at their intended times for {@code seconds}, then waits for the stragglers. */
  private void drive(int seconds, boolean measured) throws Exception {
    if (seconds <= 0) {
      return;
    }
    long total = (long) settings.rate * seconds;
    long intervalNanos = 1_000_000_000L / settings.rate;
    long start = System.nanoTime();
    CompletableFuture<Void> issued = new CompletableFuture<>();
    long[] next = {0};
    List<Future<?>> inFlight = new ArrayList<>();
    vertx.setPeriodic(1, timer -> {
      long now = System.nanoTime();
      while (next[0] < total && start + next[0] * intervalNanos <= now) {
        long intended = start + next[0] * intervalNanos;
        Target target = targets.get((int) (next[0] % targets.size()));
        Future<?> request = target.fire(intended, next[0]);
        if (next[0] % 1000 == 0) {
          inFlight.removeIf(Future::isComplete);
        }
        inFlight.add(request);
        next[0]++;
      }
      if (next[0] >= total) {
        vertx.cancelTimer(timer);
        issued.complete(null);
      }
    });
    issued.get(seconds + 60L, TimeUnit.SECONDS);
    long grace = settings.timeoutMillis + 1000;
    Future.join(new ArrayList<>(inFlight)).toCompletionStage().toCompletableFuture()
      .get(grace, TimeUnit.MILLISECONDS);
  }

  /** One server under test, with its own histograms. */
  static final class Target {
    final URI uri;
    final String name;
    final Settings settings;
    final HttpClientAgent http;
    final WebSocketClient wsClient;
    final List<WebSocket> sockets = new ArrayList<>();
    final Map<String, Promise<Void>[]> wsTurns = new HashMap<>();
    final Stats stats = new Stats();

    Target(Vertx vertx, URI uri, Settings settings) {
      this.uri = uri;
      this.name = uri.getHost() + ":" + uri.getPort();
      this.settings = settings;
      this.http = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
          .setConnectTimeout((int) settings.timeoutMillis))
        .with(new PoolOptions().setHttp1MaxSize(settings.connections).setMaxWaitQueueSize(-1))
        .build();
      this.wsClient = vertx.createWebSocketClient(new io.vertx.core.http.WebSocketClientOptions()
        .setMaxConnections(settings.connections + 1));
    }

    void reset() {
      stats.reset();
    }

    Future<Void> openSockets(int count) {
      List<Future<?>> opening = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        opening.add(wsClient.connect(new WebSocketConnectOptions().setHost(uri.getHost()).setPort(uri.getPort())
            .setURI("/v1/ws").putHeader("authorization", "Bearer " + settings.apiKey))
          .onSuccess(socket -> {
            sockets.add(socket);
            socket.textMessageHandler(this::onSocketMessage);
          }));
      }
      return Future.all(opening).mapEmpty();
    }

    @SuppressWarnings("unchecked")
    private void onSocketMessage(String text) {
      JsonObject message = new JsonObject(text);
      Promise<Void>[] turn = wsTurns.get(message.getString("id"));
      if (turn == null) {
        return;
      }
      switch (message.getString("type", "")) {
        case "delta" -> turn[0].tryComplete();
        case "done" -> {
          wsTurns.remove(message.getString("id"));
          turn[0].tryComplete();
          turn[1].tryComplete();
        }
        case "error" -> {
          wsTurns.remove(message.getString("id"));
          turn[0].tryFail("error " + message.getJsonObject("error", new JsonObject()).getString("code"));
          turn[1].tryFail("error " + message.getJsonObject("error", new JsonObject()).getString("code"));
        }
        default -> { }
      }
    }

    Future<?> fire(long intendedNanos, long sequence) {
      return switch (settings.mode) {
        case "ws" -> socketTurn(intendedNanos, sequence);
        case "sse" -> httpTurn(intendedNanos, true);
        default -> httpTurn(intendedNanos, false);
      };
    }

    private Future<?> httpTurn(long intendedNanos, boolean stream) {
      JsonObject body = new JsonObject().put("model", settings.model).put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", settings.prompt)));
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost(uri.getHost())
        .setPort(uri.getPort()).setURI(uri.getPath().isEmpty() ? "/v1/chat/completions" : uri.getPath())
        .setTimeout(settings.timeoutMillis).putHeader("content-type", "application/json");
      if (settings.apiKey != null) {
        options.putHeader("authorization", "Bearer " + settings.apiKey);
      }
      Promise<Void> done = Promise.promise();
      http.request(options).compose(req -> req.send(body.toBuffer())).onComplete(ar -> {
        if (ar.failed()) {
          if (stats.errors.isEmpty()) {
            System.err.println("first failed request: " + ar.cause());
          }
          stats.error(ar.cause() instanceof java.util.concurrent.TimeoutException
            || String.valueOf(ar.cause().getMessage()).contains("timeout") ? "timeout" : "connection");
          done.tryComplete();
          return;
        }
        var response = ar.result();
        if (response.statusCode() != 200) {
          stats.error("http " + response.statusCode());
          response.body().onComplete(x -> done.tryComplete());
          return;
        }
        if (!stream) {
          response.body().onComplete(b -> {
            if (b.succeeded()) {
              stats.latency(System.nanoTime() - intendedNanos);
            } else {
              stats.error("connection");
            }
            done.tryComplete();
          });
          return;
        }
        boolean[] first = {true};
        boolean[] sawDone = {false};
        RecordParser lines = RecordParser.newDelimited("\n", response);
        lines.handler(line -> {
          if (line.length() > 6 && line.getByte(0) == 'd') {
            if (first[0] && line.toString().contains("\"content\"")) {
              first[0] = false;
              stats.firstToken(System.nanoTime() - intendedNanos);
            }
            if (line.toString().startsWith("data: [DONE]")) {
              sawDone[0] = true;
            }
          }
        });
        lines.endHandler(v -> {
          if (sawDone[0]) {
            stats.latency(System.nanoTime() - intendedNanos);
          } else {
            stats.error("stream without [DONE]");
          }
          done.tryComplete();
        });
        lines.exceptionHandler(e -> {
          stats.error("stream broke");
          done.tryComplete();
        });
      });
      return done.future();
    }

    @SuppressWarnings("unchecked")
    private Future<?> socketTurn(long intendedNanos, long sequence) {
      WebSocket socket = sockets.get((int) (sequence % sockets.size()));
      String id = "t" + sequence;
      Promise<Void>[] turn = new Promise[] {Promise.promise(), Promise.promise()};
      wsTurns.put(id, turn);
      socket.writeTextMessage(new JsonObject().put("type", "chat").put("id", id).put("model", settings.model)
        .put("message", settings.prompt).encode());
      turn[0].future().onSuccess(v -> stats.firstToken(System.nanoTime() - intendedNanos));
      return turn[1].future().onComplete(ar -> {
        if (ar.succeeded()) {
          stats.latency(System.nanoTime() - intendedNanos);
        } else {
          stats.error(ar.cause().getMessage());
        }
      }).otherwiseEmpty();
    }
  }

  /** Settings from key=value arguments (a scenario file's lines work too). */
  static final class Settings {
    String mode = "json";
    int rate = 1000;
    int durationSeconds = 30;
    int warmupSeconds = 5;
    int connections = 64;
    long timeoutMillis = 30_000;
    String model = "switchboard-simulator";
    String prompt = "How are you today?";
    String apiKey;
    String out;
    List<String> targets = List.of("http://127.0.0.1:8080");
    final Map<String, String> all = new LinkedHashMap<>();

    static Settings parse(String[] args) throws Exception {
      Settings s = new Settings();
      for (String arg : args) {
        if (arg.startsWith("scenario=")) {
          for (String line : Files.readAllLines(Path.of(arg.substring(9)))) {
            if (!line.isBlank() && !line.startsWith("#")) {
              s.set(line.trim());
            }
          }
        } else {
          s.set(arg);
        }
      }
      for (String target : s.targets) {
        String host = URI.create(target).getHost();
        if (host == null || !InetAddress.getByName(host).isLoopbackAddress()) {
          throw new IllegalArgumentException("refusing target " + target + ": load goes to loopback addresses only");
        }
      }
      if (!List.of("json", "sse", "ws").contains(s.mode)) {
        throw new IllegalArgumentException("mode must be json, sse or ws");
      }
      return s;
    }

    private void set(String pair) {
      int eq = pair.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException("expected key=value, got " + pair);
      }
      String key = pair.substring(0, eq).trim();
      String value = pair.substring(eq + 1).trim();
      all.put(key, value);
      switch (key) {
        case "mode" -> mode = value;
        case "rate" -> rate = Integer.parseInt(value);
        case "duration" -> durationSeconds = Integer.parseInt(value);
        case "warmup" -> warmupSeconds = Integer.parseInt(value);
        case "connections" -> connections = Integer.parseInt(value);
        case "timeout_ms" -> timeoutMillis = Long.parseLong(value);
        case "model" -> model = value;
        case "prompt" -> prompt = value;
        case "api_key" -> apiKey = value.isEmpty() ? null : value;
        case "out" -> out = value;
        case "targets" -> targets = List.of(value.split("\\s*,\\s*"));
        default -> { } // scenario notes (name, upstream, ...) are kept for the report
      }
    }
  }
}
