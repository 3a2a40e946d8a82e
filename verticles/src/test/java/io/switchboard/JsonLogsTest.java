package io.switchboard;

import io.switchboard.testing.Http;
import io.switchboard.testing.NodeProcess;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With {@code SWITCHBOARD_LOG_FORMAT=json} the bundled logging writes one JSON object a line, a turn's lines carrying
 * its request id and the client's trace id; nodes joining and leaving are named as their own lines name them.
 */
class JsonLogsTest {
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

  @Test
  void every_line_is_json_and_a_turns_lines_carry_its_request_and_trace_id() throws Exception {
    Map<String, String> env = Map.of("SWITCHBOARD_LOG_FORMAT", "json",
      "SWITCHBOARD_SIMULATOR_TTFT_MS", "5", "SWITCHBOARD_SIMULATOR_TOKENS_PER_SECOND", "0",
      "SWITCHBOARD_SESSION_ALLOW_LOCAL_MEMORY_IN_CLUSTER", "true",
      // the bundled logging, not the tests' logback-test.xml on the class path
      "JAVA_TOOL_OPTIONS", "-Dlogback.configurationFile=" + Path.of("../conf/logback.xml").toAbsolutePath());
    try (NodeProcess first = NodeProcess.start("json-first", env, "--cluster").awaitHealthy(90_000);
         NodeProcess second = NodeProcess.start("json-second", env, "--cluster").awaitHealthy(90_000)) {
      String body = new JsonObject().put("model", "switchboard-simulator").put("messages", new JsonArray()
        .add(new JsonObject().put("role", "user").put("content", "log me"))).encode();
      assertEquals(200, Http.post(first.baseUrl() + "/v1/chat/completions", body, "x-request-id", "req-logged-1",
        "traceparent", "00-" + TRACE_ID + "-00f067aa0ba902b7-01").statusCode());
      String secondId = nodeId(await(second, "up:"));
      JsonObject access = await(first, "req-logged-1");
      assertEquals("switchboard.access", access.getString("loggerName"));
      assertEquals("req-logged-1", access.getJsonObject("mdc").getString("request_id"));
      assertEquals(TRACE_ID, access.getJsonObject("mdc").getString("trace_id"));
      // named by the id its own lines use (other nodes on this machine may join too: look for this one)
      JsonObject joined = await(first, "switchboard node " + secondId + " joined the cluster");
      assertEquals("INFO", joined.getString("level"));
      second.close();
      JsonObject left = await(first, "switchboard node " + secondId + " left the cluster");
      assertEquals("WARN", left.getString("level"));
      for (String line : lines(first)) {
        JsonObject parsed = new JsonObject(line);
        if (!parsed.getString("formattedMessage").contains("req-logged-1")) {
          assertTrue(parsed.getJsonObject("mdc") == null || !parsed.getJsonObject("mdc").containsKey("request_id")
            || !parsed.getString("loggerName").startsWith("io.switchboard.Switchboard"),
            "a line logged outside the turn does not carry its id: " + line);
        }
      }
    }
  }

  private static String nodeId(JsonObject up) {
    Matcher m = Pattern.compile("switchboard node (\\w+) up").matcher(up.getString("formattedMessage"));
    assertTrue(m.find(), up.encode());
    return m.group(1);
  }

  /** The node's log lines, every one a JSON object (the JVM's own notice of JAVA_TOOL_OPTIONS aside). */
  private static List<String> lines(NodeProcess node) {
    return node.log().lines().filter(l -> !l.startsWith("Picked up JAVA_TOOL_OPTIONS")).filter(l -> !l.isBlank())
      .peek(l -> assertTrue(l.startsWith("{") && l.endsWith("}"), "a JSON line: " + l)).toList();
  }

  private static JsonObject await(NodeProcess node, String fragment) throws InterruptedException {
    for (int i = 0; i < 240; i++) {
      for (String line : lines(node)) {
        JsonObject parsed = new JsonObject(line);
        if (parsed.getString("formattedMessage", "").contains(fragment)) {
          return parsed;
        }
      }
      Thread.sleep(250);
    }
    throw new AssertionError("no line with '" + fragment + "' in:\n" + node.log());
  }
}
