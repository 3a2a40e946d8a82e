package io.switchboard;

import io.switchboard.testing.FreePorts;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The web chat page in a real headless Chromium (Debian's chromium, driven by playwright-core from npm):
 * src/test/js/webchat.mjs has one scenario per test, each checking what a person sees. Answers with
 * Markdown and HTML in them come from a small fake OpenAI-compatible upstream started here, which streams a
 * chosen answer as OpenAI SSE chunks and records what the gateway sent it. CI installs chromium and the npm
 * packages; elsewhere the test is skipped without them.
 */
class WebChatPageTest {
  private static final String KEY = "web-test-key-00000000001";
  private static final String CONVERSATIONS_KEY = "web-test-key-00000000002";
  private static final String IMAGES_KEY = "web-test-key-00000000003";

  static final String MARKDOWN = """
    Here is **bold**, *italic* and `inline code`.

    ```python
    def greet(name):
        return f"Hello, {name}!"
    ```

    | Model | Tokens |
    |---|---|
    | sim-paced | 20 |
    | slow-talker | 300 |

    - first item
    - second item

    1. one
    2. two

    A [safe link](https://example.com/docs) and a [bad link](javascript:window.__pwned_link=1).
    """;

  static final String HTML = """
    <img src=x onerror="window.__pwned=1">

    Careful: <img src=y onerror="window.__pwned=2"> and <script>window.__pwned=3</script> \
    and <b onmouseover="window.__pwned=4">bold?</b> end.
    """;

  private static Vertx vertx;
  private static HttpServer upstream;
  private static TestNode node;
  private static final List<JsonObject> upstreamBodies = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(browserReady(), "chromium or playwright-core is not installed");
    vertx = Vertx.vertx();
    upstream = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      JsonObject json = body.toJsonObject();
      upstreamBodies.add(json);
      answer(request, json);
    })).listen(FreePorts.next(), "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    node = TestNode.start("""
      auth:
        enabled: true
        keys:
          - {key: %s, tenant: web}
          - {key: %s, tenant: web-conversations}
          - {key: %s, tenant: web-images}
      simulator: {ttft_ms: 5}
      model_list:
        - {model_name: sim-paced, provider: simulator, simulator: {tokens_per_second: 40, reply_tokens: 20}}
        - {model_name: slow-talker, provider: simulator, simulator: {tokens_per_second: 10, reply_tokens: 300}}
        - {model_name: fake-gpt, provider: openai, api_base: "http://127.0.0.1:%d/v1", api_key: sk-fake-upstream}
      """.formatted(KEY, CONVERSATIONS_KEY, IMAGES_KEY, upstream.actualPort()));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void nothing_of_the_chat_shows_before_sign_in_and_a_wrong_key_is_refused() throws Exception {
    run("signin", new JsonObject().put("key", KEY));
  }

  @Test
  void the_reply_streams_in_stop_cancels_it_and_refusals_are_shown() throws Exception {
    String expected = new JsonObject(Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject()
        .put("model", "sim-paced").put("messages", new JsonArray().add(new JsonObject().put("role", "user")
          .put("content", "hello from the browser"))).encode(), "authorization", "Bearer " + KEY).body())
      .getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content");
    run("stream", new JsonObject().put("key", KEY).put("expected", expected));
  }

  @Test
  void answers_render_as_markdown_while_they_stream_and_html_in_them_never_runs() throws Exception {
    run("markdown", new JsonObject().put("key", KEY)
      .put("screenshot", Path.of("target/webchat-markdown.png").toAbsolutePath().toString()));
  }

  @Test
  void the_sidebar_lists_the_gateways_conversations_and_reopens_and_continues_one() throws Exception {
    run("conversations", new JsonObject().put("key", CONVERSATIONS_KEY));
  }

  /** Needs the gateway to carry image content parts (today it refuses non-text parts with a 400). */
  @Test
  void an_attached_image_shows_as_a_thumbnail_and_reaches_the_model_intact() throws Exception {
    Path png = Path.of("target/webchat-attachment.png").toAbsolutePath();
    BufferedImage image = new BufferedImage(48, 32, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(new Color(0x2f6fed));
    g.fillRect(0, 0, 48, 32);
    g.setColor(Color.ORANGE);
    g.fillOval(8, 4, 24, 24);
    g.dispose();
    Files.createDirectories(png.getParent());
    ImageIO.write(image, "png", png.toFile());
    Path noise = Path.of("target/webchat-noise.png").toAbsolutePath();
    BufferedImage big = new BufferedImage(1000, 700, BufferedImage.TYPE_INT_RGB);
    java.util.Random random = new java.util.Random(7);
    for (int y = 0; y < big.getHeight(); y++) {
      for (int x = 0; x < big.getWidth(); x++) {
        big.setRGB(x, y, random.nextInt(0x1000000));
      }
    }
    ImageIO.write(big, "png", noise.toFile());
    String dataUrl = "data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(png));
    int before = upstreamBodies.size();
    run("image", new JsonObject().put("key", IMAGES_KEY).put("image", png.toString()).put("bigImage", noise.toString())
      .put("screenshot", Path.of("target/webchat-attachments.png").toAbsolutePath().toString()));

    List<JsonArray> parts = new ArrayList<>();
    for (JsonObject body : upstreamBodies.subList(before, upstreamBodies.size())) {
      for (Object m : body.getJsonArray("messages")) {
        if (m instanceof JsonObject message && message.getValue("content") instanceof JsonArray content) {
          parts.add(content);
        }
      }
    }
    assertTrue(parts.stream().anyMatch(content -> content.stream().anyMatch(part -> part instanceof JsonObject p
        && "image_url".equals(p.getString("type")) && dataUrl.equals(p.getJsonObject("image_url").getString("url")))),
      "the image part reached the upstream byte for byte: " + parts);
    assertTrue(parts.stream().anyMatch(content -> content.stream().anyMatch(part -> part instanceof JsonObject p
        && "text".equals(p.getString("type")) && "what is in this picture?".equals(p.getString("text")))),
      "and the text part beside it: " + parts);
  }

  // ---------- the fake upstream ----------

  private static String lastUserText(JsonObject body) {
    JsonArray messages = body.getJsonArray("messages");
    for (int i = messages.size() - 1; i >= 0; i--) {
      JsonObject message = messages.getJsonObject(i);
      if ("user".equals(message.getString("role"))) {
        Object content = message.getValue("content");
        if (content instanceof String text) {
          return text;
        }
        StringBuilder text = new StringBuilder();
        int images = 0;
        for (Object part : (JsonArray) content) {
          JsonObject p = (JsonObject) part;
          if ("text".equals(p.getString("type"))) {
            text.append(p.getString("text"));
          } else if ("image_url".equals(p.getString("type"))) {
            images++;
          }
        }
        return images > 0 ? "[" + images + " image]" + text : text.toString();
      }
    }
    return "";
  }

  private static void answer(HttpServerRequest request, JsonObject body) {
    String prompt = lastUserText(body);
    String answer;
    if (prompt.contains("markdown")) {
      answer = MARKDOWN;
    } else if (prompt.contains("html")) {
      answer = HTML;
    } else if (prompt.contains("how many")) {
      answer = "This conversation has " + body.getJsonArray("messages").size() + " messages so far.";
    } else if (prompt.startsWith("[")) {
      answer = "I got " + prompt.substring(1, prompt.indexOf(']')) + " and the words: " + prompt.substring(prompt.indexOf(']') + 1);
    } else {
      answer = "Hello from the fake model.";
    }
    String model = body.getString("model");
    if (!Boolean.TRUE.equals(body.getBoolean("stream"))) {
      request.response().putHeader("content-type", "application/json").end(new JsonObject()
        .put("id", "chatcmpl-fake").put("object", "chat.completion").put("created", 1).put("model", model)
        .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("finish_reason", "stop")
          .put("message", new JsonObject().put("role", "assistant").put("content", answer)))).encode());
      return;
    }
    var response = request.response().setChunked(true).putHeader("content-type", "text/event-stream");
    List<String> pieces = new ArrayList<>();
    for (int i = 0; i < answer.length(); i += 9) {
      pieces.add(answer.substring(i, Math.min(answer.length(), i + 9)));
    }
    long created = System.currentTimeMillis() / 1000;
    JsonObject first = chunk(created, model, new JsonObject().put("role", "assistant").put("content", ""), null);
    response.write("data: " + first.encode() + "\n\n");
    streamPieces(response, pieces, 0, created, model);
  }

  private static void streamPieces(io.vertx.core.http.HttpServerResponse response, List<String> pieces, int next,
                                   long created, String model) {
    if (response.closed()) {
      return;
    }
    if (next == pieces.size()) {
      response.write("data: " + chunk(created, model, new JsonObject(), "stop").encode() + "\n\n");
      response.write("data: " + new JsonObject().put("id", "chatcmpl-fake").put("object", "chat.completion.chunk")
        .put("created", created).put("model", model).put("choices", new JsonArray())
        .put("usage", new JsonObject().put("prompt_tokens", 9).put("completion_tokens", pieces.size())
          .put("total_tokens", 9 + pieces.size())).encode() + "\n\n");
      response.end("data: [DONE]\n\n");
      return;
    }
    response.write("data: " + chunk(created, model, new JsonObject().put("content", pieces.get(next)), null).encode()
      + "\n\n");
    // a pause before the first piece of a table: the page shows what came before it (the bold text) even when a
    // loaded machine would otherwise deliver both in one render
    boolean tableNext = next + 1 < pieces.size() && pieces.get(next + 1).contains("|")
      && pieces.subList(0, next + 1).stream().noneMatch(p -> p.contains("|"));
    vertx.setTimer(tableNext ? 400 : 12, t -> streamPieces(response, pieces, next + 1, created, model));
  }

  private static JsonObject chunk(long created, String model, JsonObject delta, String finishReason) {
    return new JsonObject().put("id", "chatcmpl-fake").put("object", "chat.completion.chunk").put("created", created)
      .put("model", model).put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("delta", delta)
        .put("finish_reason", finishReason)));
  }

  // ---------- the browser ----------

  private static boolean browserReady() {
    boolean ready = Files.isExecutable(Path.of("/usr/bin/chromium"))
      && Files.isDirectory(Path.of("src/test/js/node_modules/playwright-core"));
    if (!ready && "true".equals(System.getenv("CI"))) {
      throw new AssertionError("CI must install chromium and run npm ci in verticles/src/test/js");
    }
    return ready;
  }

  private static void run(String scenario, JsonObject options) throws Exception {
    Path script = Path.of("src/test/js/webchat.mjs");
    options.put("baseUrl", node.baseUrl());
    Process browser = new ProcessBuilder("node", script.getFileName().toString(), scenario, options.encode())
      .directory(script.getParent().toFile()).redirectErrorStream(true).start();
    boolean finished = browser.waitFor(90, TimeUnit.SECONDS);
    if (!finished) {
      browser.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    String output = new String(browser.getInputStream().readAllBytes());
    System.out.println("[" + scenario + "]\n" + output);
    assertTrue(finished, "the browser run finished in time:\n" + output);
    assertEquals(0, browser.exitValue(), output);
    assertTrue(output.contains("PASSED"), output);
  }
}
