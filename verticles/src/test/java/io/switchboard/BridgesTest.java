package io.switchboard;

import io.switchboard.testing.FreePorts;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The event bus bridges: a Python worker (standard library only) joins over the TCP bridge as the model
 * behind a {@code provider: bridge} deployment; Node clients use the SockJS bridge with the official client.
 */
class BridgesTest {
  private static final String TOKEN = "worker-token-0000000001";
  private static final String KEY_A = "bridge-key-acme-00000001";
  private static final String KEY_B = "bridge-key-globex-000001";
  private static int tcpPort;
  private static TestNode node;

  @BeforeAll
  static void start() {
    tcpPort = FreePorts.next();
    node = TestNode.start("""
      auth:
        enabled: true
        keys:
          - {key: bridge-key-acme-00000001, tenant: acme}
          - {key: bridge-key-globex-000001, tenant: globex}
      bridge:
        tcp_port: %d
        worker_token: worker-token-0000000001
      simulator: {ttft_ms: 5, tokens_per_second: 0, reply_tokens: 10}
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
        - {model_name: local-echo, provider: bridge}
      routes:
        - {model_name: local-echo, num_retries: 0}
      """.formatted(tcpPort));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static String body(String model, String text, boolean stream) {
    return new JsonObject().put("model", model).put("stream", stream).put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  private static Process worker(String token) throws Exception {
    return new ProcessBuilder("python3", "../examples/python-worker/worker.py", "--port", String.valueOf(tcpPort),
      "--token", token, "--model", "local-echo").redirectErrorStream(true).start();
  }

  private static String awaitLine(Process process, String wanted) throws Exception {
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream()));
    StringBuilder seen = new StringBuilder();
    long deadline = System.currentTimeMillis() + 15_000;
    String line;
    while (System.currentTimeMillis() < deadline && (line = out.readLine()) != null) {
      seen.append(line).append('\n');
      if (line.contains(wanted)) {
        return seen.toString();
      }
    }
    throw new AssertionError("worker never said '" + wanted + "':\n" + seen);
  }

  @Test
  void a_python_worker_joins_over_the_tcp_bridge_and_serves_its_model() throws Exception {
    String url = node.baseUrl() + "/v1/chat/completions";
    HttpResponse<String> before = Http.post(url, body("local-echo", "anyone there", false), "authorization",
      "Bearer " + KEY_A);
    assertEquals(503, before.statusCode(), "no worker yet: " + before.body());

    Process worker = worker(TOKEN);
    try {
      awaitLine(worker, "ready");
      HttpResponse<String> answer = Http.post(url, body("local-echo", "one two three", false), "authorization",
        "Bearer " + KEY_A);
      assertEquals(200, answer.statusCode(), answer.body());
      assertEquals("Worker says: three two one", new JsonObject(answer.body()).getJsonArray("choices")
        .getJsonObject(0).getJsonObject("message").getString("content"));

      HttpResponse<Stream<String>> stream = Http.postLines(url, body("local-echo", "streaming works fine", true),
        "authorization", "Bearer " + KEY_A);
      List<String> events = Http.sseData(stream);
      assertEquals("[DONE]", events.get(events.size() - 1));
      StringBuilder text = new StringBuilder();
      int pieces = 0;
      for (String event : events.subList(0, events.size() - 1)) {
        JsonObject choice = new JsonObject(event).getJsonArray("choices").getJsonObject(0);
        if (choice.getJsonObject("delta").getString("content") != null) {
          text.append(choice.getJsonObject("delta").getString("content"));
          pieces++;
        }
      }
      assertEquals("Worker says: fine works streaming", text.toString());
      assertEquals(4, pieces, "streamed piece by piece");
    } finally {
      worker.destroy();
      worker.waitFor(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void a_worker_without_the_token_is_refused() throws Exception {
    Process impostor = worker("not-the-worker-token-000");
    assertTrue(impostor.waitFor(15, TimeUnit.SECONDS));
    String output = new String(impostor.getInputStream().readAllBytes());
    assertEquals(3, impostor.exitValue(), output);
  }

  @Test
  void a_worker_cannot_reach_internal_addresses() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", tcpPort)) {
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      DataInputStream in = new DataInputStream(socket.getInputStream());
      for (String address : List.of("switchboard.routing.chat", "switchboard.worker.chunks.someone")) {
        String type = address.contains("chunks") ? "register" : "send";
        byte[] frame = new JsonObject().put("type", type).put("address", address)
          .put("headers", new JsonObject().put("authorization", "Bearer " + TOKEN))
          .put("body", new JsonObject()).encode().getBytes(StandardCharsets.UTF_8);
        out.writeInt(frame.length);
        out.write(frame);
        out.flush();
        byte[] reply = new byte[in.readInt()];
        in.readFully(reply);
        JsonObject answer = new JsonObject(new String(reply, StandardCharsets.UTF_8));
        assertEquals("err", answer.getString("type"), address + ": " + answer);
        assertEquals("access_denied", answer.getString("message"), address);
      }
    }
  }

  @Test
  void node_clients_use_the_sockjs_bridge_and_see_only_their_own_stream() throws Exception {
    Path script = Path.of("src/test/js/sockjs-bridge.cjs");
    boolean ready = Files.isDirectory(Path.of("src/test/js/node_modules/@vertx/eventbus-bridge-client.js"));
    if (!ready && "true".equals(System.getenv("CI"))) {
      throw new AssertionError("CI must run npm ci in verticles/src/test/js");
    }
    Assumptions.assumeTrue(ready, "the npm client is not installed (npm ci in verticles/src/test/js)");
    String expected = new JsonObject(Http.post(node.baseUrl() + "/v1/chat/completions",
        body("switchboard-simulator", "hello bridge", false), "authorization", "Bearer " + KEY_A).body())
      .getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content");
    Process client = new ProcessBuilder("node", script.getFileName().toString(), node.baseUrl(), KEY_A, KEY_B, expected)
      .directory(script.getParent().toFile()).redirectErrorStream(true).start();
    assertTrue(client.waitFor(60, TimeUnit.SECONDS));
    String output = new String(client.getInputStream().readAllBytes());
    System.out.println(output);
    assertEquals(0, client.exitValue(), output);
    assertTrue(output.contains("PASSED"), output);
    java.util.regex.Matcher sockJsTurns = java.util.regex.Pattern.compile("switchboard_turns_seconds_count\\{channel="
      + "\"sockjs\",model=\"switchboard-simulator\",outcome=\"ok\"} (\\d+)")
      .matcher(Http.get(node.managementUrl() + "/metrics").body());
    assertTrue(sockJsTurns.find() && Integer.parseInt(sockJsTurns.group(1)) >= 1,
      "the bridge's turns are counted as sockjs turns");
  }
}
