package io.switchboard.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.switchboard.tracing.Tracing;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import org.slf4j.MDC;
import org.slf4j.Marker;

import java.util.Map;
import java.util.regex.Pattern;

/**
 * Puts the request id and trace id of the turn being handled into every log line's MDC ({@code request_id},
 * {@code trace_id}). Event loops are shared by many turns, so the ids are not kept in the thread's MDC between lines:
 * they live in the local data of the turn's own Vert.x context (each HTTP request, and each event-bus message,
 * runs on a duplicate of its verticle's context), and this filter copies them into the MDC as each line is logged,
 * removing them on a line logged outside any turn. With tracing on, the trace id is the current span's, so the
 * lines a turn causes on other nodes carry it too. Lines of a disabled level cost one comparison. Only the JSON
 * format ({@code SWITCHBOARD_LOG_FORMAT=json}) shows the MDC: with the text format nothing is kept or copied.
 */
public final class TurnLogContext extends TurboFilter {
  public static final String REQUEST_ID = "request_id";
  public static final String TRACE_ID = "trace_id";
  /** W3C trace context: version, 32 hex trace id, 16 hex parent id, flags. */
  private static final boolean KEPT = "json".equalsIgnoreCase(System.getenv("SWITCHBOARD_LOG_FORMAT"));
  private static final Pattern TRACEPARENT = Pattern.compile("[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}");

  /**
   * Marks the current Vert.x context as handling this turn (a no-op outside a per-request duplicate context, which
   * other requests share). {@code traceparent} is the client's W3C header, or null.
   */
  public static void enter(String requestId, String traceparent) {
    if (KEPT && Vertx.currentContext() instanceof ContextInternal context && context.isDuplicate()) {
      Map<Object, Object> data = context.localContextData();
      data.put(REQUEST_ID, requestId);
      // the request's span while it is current (tracing on; the client's trace when it sent one), else the header's
      String traceId = Tracing.on() ? traceId() : traceId(traceparent);
      if (traceId != null) {
        data.put(TRACE_ID, traceId);
      }
    }
  }

  /** The trace id of a valid W3C {@code traceparent}, else null. */
  static String traceId(String traceparent) {
    if (traceparent == null) {
      return null;
    }
    var matcher = TRACEPARENT.matcher(traceparent);
    return matcher.matches() ? matcher.group(1) : null;
  }

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (!KEPT || level == null || !level.isGreaterOrEqual(logger.getEffectiveLevel())) {
      return FilterReply.NEUTRAL;
    }
    Context context = Vertx.currentContext();
    Map<Object, Object> data = context instanceof ContextInternal internal && internal.isDuplicate()
      ? internal.localContextData() : Map.of();
    copy(data, REQUEST_ID);
    String traced = data.containsKey(TRACE_ID) || !Tracing.on() ? null : traceId();
    if (traced != null) {
      MDC.put(TRACE_ID, traced);
    } else {
      copy(data, TRACE_ID);
    }
    return FilterReply.NEUTRAL;
  }

  /** The trace of the span current on this Vert.x context (tracing on), on any node the turn crosses. */
  private static String traceId() {
    SpanContext span = Span.current().getSpanContext();
    return span.isValid() ? span.getTraceId() : null;
  }

  private static void copy(Map<Object, Object> data, String key) {
    Object value = data.get(key);
    if (value != null) {
      MDC.put(key, value.toString());
    } else {
      MDC.remove(key);
    }
  }
}
