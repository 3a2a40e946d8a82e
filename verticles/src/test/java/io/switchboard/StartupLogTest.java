package io.switchboard;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.switchboard.config.ConfigLoader;
import io.switchboard.testing.Http;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What an operator reads at start-up and from the management port of a single node. */
class StartupLogTest {
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

  @BeforeEach
  void capture() {
    log.start();
    root.addAppender(log);
  }

  @AfterEach
  void release() {
    root.detachAppender(log);
  }

  private List<String> lines() {
    return log.list.stream().map(e -> e.getLoggerName() + " " + e.getLevel() + " " + e.getFormattedMessage()).toList();
  }

  @Test
  void the_log_names_the_configuration_file_loaded() {
    ConfigLoader.load(Path.of("../conf/switchboard.yaml"), Map.of());
    assertTrue(lines().stream().anyMatch(l -> l.contains("configuration loaded from")
      && l.contains("conf/switchboard.yaml")), String.join("\n", lines()));
  }

  @Test
  void the_bundled_logging_keeps_micrometer_double_registration_warnings_out_of_the_start_up_log() throws Exception {
    LoggerContext context = new LoggerContext();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(Path.of("../conf/logback.xml").toFile());
    assertFalse(context.getLogger("io.micrometer.core.instrument.MeterRegistry").isWarnEnabled(),
      "every node start would log 'This Gauge has been already registered'");
    assertTrue(context.getLogger("io.switchboard.Switchboard").isInfoEnabled());
    context.stop();
  }

  @Test
  void a_single_node_answers_health_and_ready() throws Exception {
    try (TestNode node = TestNode.start("""
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
      management: {admin_token: admin-token-0123456789}
      """)) {
      JsonObject health = new JsonObject(Http.get(node.managementUrl() + "/health").body());
      JsonObject ready = new JsonObject(Http.get(node.managementUrl() + "/ready").body());
      assertEquals("UP", health.getString("status"));
      assertEquals("READY", ready.getString("status"));
      // on Linux x86-64 (this machine, CI, the Docker image) a node runs on epoll, not the JDK's NIO
      assertTrue(lines().stream().anyMatch(l -> l.contains(" up: ") && l.contains("epoll transport")),
        String.join("\n", lines()));
      HttpResponse<String> degrade = Http.post(node.managementUrl() + "/admin/models/switchboard-simulator/degrade",
        "{\"to\":\"switchboard-simulator\"}", "authorization", "Bearer admin-token-0123456789");
      assertEquals(400, degrade.statusCode(), "a model cannot be degraded to itself: " + degrade.body());
    }
  }

  @Test
  void vertx_own_meters_come_back_when_asked_for() throws Exception {
    try (TestNode node = TestNode.start("""
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
      management: {http_server_metrics: true, http_client_metrics: true, event_bus_metrics: true}
      """)) {
      HttpResponse<String> chat = Http.post(node.baseUrl() + "/v1/chat/completions",
        "{\"model\":\"switchboard-simulator\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertEquals(200, chat.statusCode(), chat.body());
      String metrics = Http.get(node.managementUrl() + "/metrics").body();
      assertTrue(metrics.contains("vertx_http_server_requests_total"), "the request was counted by Vert.x");
      assertTrue(metrics.contains("vertx_http_client_requests_total"), "the upstream call was counted by Vert.x");
      assertTrue(metrics.contains("vertx_eventbus_"), "the turn's event bus messages were counted by Vert.x");
    }
  }

  @Test
  void a_node_whose_routing_does_not_answer_is_alive_but_not_ready() throws Exception {
    try (TestNode node = TestNode.start("""
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
      verticles: [connection, session, monitoring]
      """)) {
      HttpResponse<String> health = Http.get(node.managementUrl() + "/health");
      HttpResponse<String> ready = Http.get(node.managementUrl() + "/ready");
      assertEquals(200, health.statusCode(), health.body());
      assertEquals(503, ready.statusCode(), ready.body());
      assertEquals("NOT_READY", new JsonObject(ready.body()).getString("status"));
    }
  }

  @Test
  void a_degrade_on_a_single_node_does_not_claim_to_be_cluster_wide() throws Exception {
    try (TestNode node = TestNode.start("""
      model_list:
        - {model_name: switchboard-simulator, provider: simulator}
        - model_name: backup
          provider: simulator
      management: {admin_token: admin-token-0123456789}
      """)) {
      HttpResponse<String> degrade = Http.post(node.managementUrl() + "/admin/models/switchboard-simulator/degrade",
        "{\"to\":\"backup\"}", "authorization", "Bearer admin-token-0123456789");
      assertEquals(200, degrade.statusCode(), degrade.body());
      assertEquals(false, new JsonObject(degrade.body()).getBoolean("applied_cluster_wide"));
    }
  }
}
