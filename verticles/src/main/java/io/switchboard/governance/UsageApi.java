package io.switchboard.governance;

import io.switchboard.bus.ApiError;
import io.switchboard.governance.spend.UsageQuery;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@code GET /admin/usage?tenant=&key=&model=&from=&to=&group_by=day|model|key|tenant} on the management port (behind
 * the admin token): requests, tokens, cost, cache hits and errors per group, summed from the spend log — in
 * PostgreSQL every node's rows, in memory this node's only (the answer's {@code source} says which).
 */
public final class UsageApi {
  private static final Logger LOG = LoggerFactory.getLogger(UsageApi.class);
  private static final List<String> PARAMETERS = List.of("tenant", "key", "model", "from", "to", "group_by");
  private static final Pattern DAY = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");
  private static final Duration DEFAULT_SPAN = Duration.ofDays(30);

  private final Spend spend;

  public UsageApi(Spend spend) {
    this.spend = spend;
  }

  public void usage(RoutingContext ctx) {
    UsageQuery query;
    try {
      query = query(ctx.queryParams(), Instant.now());
    } catch (BadParameter e) {
      reply(ctx, e.error.status(), e.error.toJson());
      return;
    }
    spend.usage(query).onComplete(outcome -> {
      if (outcome.failed()) {
        LOG.warn("admin: usage could not be read from the spend log: {}", outcome.cause().toString());
        ApiError error = ApiError.unavailable("The spend log cannot be read right now; try again shortly.");
        reply(ctx, error.status(), error.toJson());
        return;
      }
      JsonObject body = new JsonObject().put("object", "list").put("group_by", query.groupBy())
        .put("from", query.from().toString()).put("to", query.to().toString()).put("source", spend.source());
      if (spend.source().equals("memory")) {
        body.put("note", "spend_log.store is memory: this node's turns only (its last spend_log.max_memory_rows)");
      }
      reply(ctx, 200, body.put("data", new JsonArray(outcome.result())));
    });
  }

  /** The query a request asks; {@link BadParameter} (400, naming the parameter) for anything it cannot mean. */
  static UsageQuery query(MultiMap params, Instant now) {
    for (String name : params.names()) {
      if (!PARAMETERS.contains(name)) {
        throw new BadParameter(name, "Unknown parameter '" + name + "'; /admin/usage takes " + PARAMETERS + ".");
      }
    }
    String groupBy = params.contains("group_by") ? params.get("group_by") : "day";
    if (!UsageQuery.GROUPS.contains(groupBy)) {
      throw new BadParameter("group_by", "Invalid 'group_by': must be one of " + UsageQuery.GROUPS + ".");
    }
    Instant to = params.contains("to") ? time(params.get("to"), "to", true) : now;
    Instant from = params.contains("from") ? time(params.get("from"), "from", false) : to.minus(DEFAULT_SPAN);
    if (!from.isBefore(to)) {
      throw new BadParameter("from", "Invalid 'from': must be before 'to' (" + to + ").");
    }
    return new UsageQuery(filter(params, "tenant"), filter(params, "key"), filter(params, "model"), from, to,
      groupBy);
  }

  /** {@code YYYY-MM-DD} (a whole UTC day: {@code to} is the end of it) or an ISO-8601 date and time with its offset. */
  private static Instant time(String value, String param, boolean end) {
    try {
      if (DAY.matcher(value).matches()) {
        LocalDate day = LocalDate.parse(value);
        return (end ? day.plusDays(1) : day).atStartOfDay(ZoneOffset.UTC).toInstant();
      }
      return OffsetDateTime.parse(value).toInstant();
    } catch (DateTimeParseException e) {
      throw new BadParameter(param, "Invalid '" + param + "': expected YYYY-MM-DD or an ISO-8601 time such as "
        + "2025-06-01T00:00:00Z.");
    }
  }

  private static String filter(MultiMap params, String name) {
    String value = params.get(name);
    if (value == null) {
      return null;
    }
    if (value.isBlank() || value.length() > 256) {
      throw new BadParameter(name, "Invalid '" + name + "': must be 1 to 256 characters.");
    }
    return value;
  }

  private static void reply(RoutingContext ctx, int status, JsonObject body) {
    if (!ctx.response().ended()) {
      ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
    }
  }

  /** A parameter the usage API cannot take, as OpenAI's 400 naming it. */
  static final class BadParameter extends RuntimeException {
    final ApiError error;

    BadParameter(String param, String message) {
      super(message, null, false, false);
      this.error = ApiError.badRequest(message, param);
    }
  }
}
