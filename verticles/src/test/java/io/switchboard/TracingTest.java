package io.switchboard;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.switchboard.testing.FakeOpenAi;
import io.switchboard.testing.FreePorts;
import io.switchboard.testing.Http;
import io.switchboard.testing.NodeProcess;
import io.switchboard.tracing.Tracing;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With the standard OTEL_* variables set, a client's W3C traceparent starts one trace that crosses both nodes of a
 * cluster (the front node has no inference proxy, so the turn must cross the clustered event bus) and reaches the
 * upstream as its traceparent; the model call is a span with the GenAI semantic-convention attributes. Spans are
 * exported over OTLP/HTTP (protobuf) to a receiver in this test.
 */
class TracingTest {
  private static final String TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
  private static final HexFormat HEX = HexFormat.of();

  /** One exported span, as the receiver read it. */
  private record Received(String service, String traceId, String spanId, String parentId, String name,
                          Map<String, String> attributes) {
  }

  @Test
  void one_trace_crosses_both_nodes_and_reaches_the_upstream() throws Exception {
    List<Received> spans = new CopyOnWriteArrayList<>();
    HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", FreePorts.next()), 0);
    receiver.createContext("/v1/traces", exchange -> {
      ExportTraceServiceRequest export = ExportTraceServiceRequest.parseFrom(exchange.getRequestBody().readAllBytes());
      for (ResourceSpans resource : export.getResourceSpansList()) {
        String service = attributes(resource.getResource().getAttributesList()).get("service.name");
        for (ScopeSpans scope : resource.getScopeSpansList()) {
          scope.getSpansList().forEach(span -> spans.add(new Received(service,
            HEX.formatHex(span.getTraceId().toByteArray()), HEX.formatHex(span.getSpanId().toByteArray()),
            HEX.formatHex(span.getParentSpanId().toByteArray()), span.getName(), attributes(span.getAttributesList()))));
        }
      }
      byte[] ok = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
      exchange.getResponseHeaders().add("content-type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, ok.length);
      exchange.getResponseBody().write(ok);
      exchange.close();
    });
    receiver.start();
    try (FakeOpenAi upstream = new FakeOpenAi()) {
      Path conf = Files.createTempFile("switchboard-tracing-", ".yaml");
      Files.writeString(conf, """
        session:
          allow_local_memory_in_cluster: true
        model_list:
          - model_name: traced
            provider: openai
            upstream_model: gpt-traced
            api_base: %s
            api_key: sk-test-0123456789
        """.formatted(upstream.baseUrl()));
      Map<String, String> common = Map.of("OTEL_TRACES_EXPORTER", "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + receiver.getAddress().getPort(),
        "OTEL_BSP_SCHEDULE_DELAY", "200", "SWITCHBOARD_LOG_FORMAT", "json",
        "JAVA_TOOL_OPTIONS", "-Dlogback.configurationFile=" + Path.of("../conf/logback.xml").toAbsolutePath());
      try (NodeProcess back = NodeProcess.start("traced-back", with(common, "OTEL_SERVICE_NAME", "back"),
             "--conf", conf.toString(), "--cluster").awaitHealthy(90_000);
           NodeProcess front = NodeProcess.start("traced-front", with(common, "OTEL_SERVICE_NAME", "front"),
             "--conf", conf.toString(), "--cluster", "--verticles", "connection,session,routing,monitoring")
             .awaitHealthy(90_000)) {
        String body = new JsonObject().put("model", "traced").put("messages", new JsonArray()
          .add(new JsonObject().put("role", "user").put("content", "trace me"))).encode();
        String answer = null;
        for (int i = 0; i < 40 && answer == null; i++) { // until the front node sees the back node's proxy
          var response = Http.post(front.baseUrl() + "/v1/chat/completions", body,
            "traceparent", "00-" + TRACE_ID + "-b7ad6b7169203331-01");
          if (response.statusCode() == 200) {
            answer = response.body();
          } else {
            Thread.sleep(250);
          }
        }
        assertTrue(answer != null, "the turn was answered");
        String stream = new JsonObject(body).put("stream", true).encode();
        assertTrue(Http.sseData(Http.postLines(front.baseUrl() + "/v1/chat/completions", stream,
          "x-request-id", "req-untraced-client")).contains("[DONE]"), "a stream runs traced too");
        assertTrue(upstream.traceparents.stream().anyMatch(t -> t.startsWith("00-" + TRACE_ID + "-")),
          "the upstream received the client's trace: " + upstream.traceparents);

        List<Received> trace = awaitTrace(spans);
        Map<String, Long> byService = trace.stream().collect(Collectors.groupingBy(Received::service,
          Collectors.counting()));
        assertTrue(byService.containsKey("front") && byService.containsKey("back"), "both nodes: " + trace);
        Received model = trace.stream().filter(s -> s.name().equals("chat gpt-traced")).findFirst()
          .orElseThrow(() -> new AssertionError("no model call span: " + trace));
        assertEquals("back", model.service());
        assertEquals("chat", model.attributes().get("gen_ai.operation.name"));
        assertEquals("openai", model.attributes().get("gen_ai.system"));
        assertEquals("gpt-traced", model.attributes().get("gen_ai.request.model"));
        assertTrue(Integer.parseInt(model.attributes().get("gen_ai.usage.input_tokens")) > 0, model.toString());
        assertTrue(Integer.parseInt(model.attributes().get("gen_ai.usage.output_tokens")) > 0, model.toString());
        assertEquals("[stop]", model.attributes().get("gen_ai.response.finish_reasons"));
        // connected: every span but the client's own parent is in the trace, or is the client's span
        var ids = trace.stream().map(Received::spanId).collect(Collectors.toSet());
        for (Received span : trace) {
          assertTrue(ids.contains(span.parentId()) || span.parentId().equals("b7ad6b7169203331"),
            "span " + span + " hangs from a span of this trace");
        }
        // a client without traceparent gets a trace of its own, and its log lines name it
        String streamTrace = awaitLogTrace(front, "req-untraced-client");
        assertTrue(streamTrace.matches("[0-9a-f]{32}") && !streamTrace.equals(TRACE_ID), streamTrace);
        for (int i = 0; i < 40 && spans.stream().noneMatch(s -> s.traceId().equals(streamTrace)); i++) {
          Thread.sleep(250);
        }
        assertTrue(spans.stream().anyMatch(s -> s.traceId().equals(streamTrace) && s.service().equals("back")),
          "the logged trace id is the exported trace's");
        String upstreamParent = upstream.traceparents.stream().filter(t -> t.contains(TRACE_ID)).findFirst()
          .orElseThrow().split("-")[2];
        Received upstreamCall = trace.stream().filter(s -> s.spanId().equals(upstreamParent)).findFirst()
          .orElseThrow(() -> new AssertionError("the upstream's parent span is one of the trace's"));
        assertEquals(model.spanId(), upstreamCall.parentId(), "the upstream HTTP call is the model call's child: "
          + upstreamCall);
      }
    } finally {
      receiver.stop(0);
    }
  }

  @Test
  void tracing_is_off_without_otel_variables() {
    assertFalse(Tracing.on(), "no OTEL_* in this JVM: no tracer installed");
  }

  private static List<Received> awaitTrace(List<Received> spans) throws InterruptedException {
    for (int i = 0; i < 120; i++) {
      List<Received> trace = spans.stream().filter(s -> s.traceId().equals(TRACE_ID)).toList();
      var ids = trace.stream().map(Received::spanId).collect(Collectors.toSet());
      // each node exports in its own batches: wait until the spans that name a parent find it (or time runs out,
      // and the caller's check says which one hangs loose)
      boolean connected = trace.stream().allMatch(s -> ids.contains(s.parentId())
        || s.parentId().equals("b7ad6b7169203331"));
      if (trace.stream().anyMatch(s -> s.service().equals("front")) && trace.stream()
        .anyMatch(s -> s.name().startsWith("chat ")) && (connected || i >= 80)) {
        Thread.sleep(500); // the rest of the batch
        return spans.stream().filter(s -> s.traceId().equals(TRACE_ID)).toList();
      }
      Thread.sleep(250);
    }
    throw new AssertionError("no trace " + TRACE_ID + " in " + spans);
  }

  /** The trace id in the JSON access line of a request. */
  private static String awaitLogTrace(NodeProcess node, String requestId) throws InterruptedException {
    for (int i = 0; i < 80; i++) {
      for (String line : node.log().lines().filter(l -> l.startsWith("{") && l.contains(requestId)).toList()) {
        JsonObject mdc = new JsonObject(line).getJsonObject("mdc");
        if (mdc != null && mdc.getString("trace_id") != null) {
          return mdc.getString("trace_id");
        }
      }
      Thread.sleep(250);
    }
    throw new AssertionError("no log line of " + requestId + " with a trace id:\n" + node.log());
  }

  private static Map<String, String> attributes(List<KeyValue> list) {
    return list.stream().collect(Collectors.toMap(KeyValue::getKey, kv -> {
      var v = kv.getValue();
      return switch (v.getValueCase()) {
        case STRING_VALUE -> v.getStringValue();
        case INT_VALUE -> String.valueOf(v.getIntValue());
        case BOOL_VALUE -> String.valueOf(v.getBoolValue());
        case DOUBLE_VALUE -> String.valueOf(v.getDoubleValue());
        case ARRAY_VALUE -> v.getArrayValue().getValuesList().stream().map(x -> x.getStringValue())
          .collect(Collectors.joining(",", "[", "]"));
        default -> v.toString();
      };
    }, (a, b) -> a));
  }

  private static Map<String, String> with(Map<String, String> env, String key, String value) {
    Map<String, String> all = new java.util.HashMap<>(env);
    all.put(key, value);
    return all;
  }
}
