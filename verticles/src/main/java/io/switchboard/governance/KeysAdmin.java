package io.switchboard.governance;

import io.switchboard.bus.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The admin API for keys and tenants, on the management port behind the admin token (mounted beside the other
 * {@code /admin/*} routes). A key's secret is made here, returned once by {@code POST /admin/keys}, and never stored:
 * only its SHA-256. Field names are LiteLLM's where it has them.
 */
public final class KeysAdmin {
  private static final Logger LOG = LoggerFactory.getLogger(KeysAdmin.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final HexFormat HEX = HexFormat.of();
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}");
  private static final Set<String> KEY_FIELDS = Set.of("key_alias", "tenant", "models", "rpm_limit", "tpm_limit",
    "max_budget", "budget_duration", "duration", "expires", "priority", "metadata");
  private static final Set<String> TENANT_FIELDS = Set.of("name", "models", "rpm_limit", "tpm_limit", "max_budget",
    "budget_duration");

  /** A request the API refuses, with its 4xx. */
  private static final class Refused extends RuntimeException {
    final ApiError error;

    Refused(ApiError error) {
      super(error.message(), null, false, false);
      this.error = error;
    }
  }

  private final Governance governance;

  public KeysAdmin(Governance governance) {
    this.governance = governance;
  }

  /** Mounts the routes; {@code /admin/*} is already behind the admin token. */
  public void mount(Router router) {
    BodyHandler body = BodyHandler.create(false).setBodyLimit(64 * 1024);
    router.post("/admin/keys").handler(body).handler(this::create);
    router.get("/admin/keys").handler(this::list);
    router.get("/admin/keys/:id").handler(this::get);
    router.patch("/admin/keys/:id").handler(body).handler(this::update);
    router.delete("/admin/keys/:id").handler(this::delete);
    router.get("/admin/tenants").handler(this::tenants);
    router.put("/admin/tenants/:name").handler(body).handler(this::putTenant);
    router.delete("/admin/tenants/:name").handler(this::deleteTenant);
  }

  private void create(RoutingContext ctx) {
    JsonObject body;
    VirtualKey key;
    String secret = Governance.KEY_PREFIX + HEX.formatHex(random(32));
    try {
      body = body(ctx, KEY_FIELDS);
      Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      key = fields(body, new VirtualKey("key_" + HEX.formatHex(random(8)), Governance.sha256Hex(secret),
        Governance.KEY_PREFIX + "…" + secret.substring(secret.length() - 4), null, "default", Set.of(), Limits.NONE,
        null, 0, null, now), now);
    } catch (Refused refused) {
      error(ctx, refused.error);
      return;
    }
    governance.store().put(key).onSuccess(x -> {
      governance.announce(new JsonObject().put("hash", key.hash()));
      LOG.info("admin: key {} ({}) created for tenant {} from {}", key.id(), key.alias(), key.tenant(),
        ctx.request().remoteAddress());
      JsonObject shown = key.publicJson();
      shown.remove("key_hint");
      json(ctx, 201, new JsonObject().put("id", key.id()).put("key", secret).mergeIn(shown));
    }).onFailure(failure -> unavailable(ctx, failure));
  }

  private void list(RoutingContext ctx) {
    String tenant = ctx.queryParams().get("tenant");
    governance.store().keys().compose(keys -> {
      List<VirtualKey> shown = new ArrayList<>(keys.stream()
        .filter(k -> tenant == null || k.tenant().equals(tenant)).toList());
      shown.sort(Comparator.comparing(VirtualKey::createdAt).thenComparing(VirtualKey::id));
      List<Future<JsonObject>> rows = new ArrayList<>();
      for (VirtualKey key : shown) {
        rows.add(shown(key));
      }
      return Future.all(rows).map(all -> {
        JsonArray data = new JsonArray();
        rows.forEach(row -> data.add(row.result()));
        return data;
      });
    }).onSuccess(data -> json(ctx, 200, new JsonObject().put("object", "list").put("data", data)))
      .onFailure(failure -> unavailable(ctx, failure));
  }

  /** A key as the list shows it: its hint (never the secret), its spend this budget period, not revoked. */
  private Future<JsonObject> shown(VirtualKey key) {
    return governance.spend(key).otherwise(-1.0).map(spend -> key.publicJson()
      .put("spend", spend < 0 ? null : spend).put("revoked", false));
  }

  private void get(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    governance.store().byId(id).compose(key -> key == null ? Future.succeededFuture(null) : shown(key))
      .onSuccess(key -> {
        if (key == null) {
          error(ctx, unknownKey(id));
        } else {
          json(ctx, 200, key);
        }
      }).onFailure(failure -> unavailable(ctx, failure));
  }

  private void update(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    JsonObject body;
    try {
      body = body(ctx, KEY_FIELDS);
    } catch (Refused refused) {
      error(ctx, refused.error);
      return;
    }
    governance.store().byId(id).compose(key -> {
      if (key == null) {
        return Future.failedFuture(new Refused(unknownKey(id)));
      }
      VirtualKey changed = fields(body, key, Instant.now().truncatedTo(ChronoUnit.SECONDS));
      return governance.store().put(changed).map(changed);
    }).onSuccess(key -> {
      governance.announce(new JsonObject().put("hash", key.hash()));
      LOG.info("admin: key {} changed ({}) from {}", key.id(), body.fieldNames(), ctx.request().remoteAddress());
      shown(key).onSuccess(shown -> json(ctx, 200, shown));
    }).onFailure(failure -> {
      if (failure instanceof Refused refused) {
        error(ctx, refused.error);
      } else {
        unavailable(ctx, failure);
      }
    });
  }

  private void delete(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    governance.store().delete(id).onSuccess(key -> {
      if (key == null) {
        error(ctx, unknownKey(id));
        return;
      }
      governance.announce(new JsonObject().put("hash", key.hash()));
      LOG.warn("admin: key {} ({}) revoked from {}", key.id(), key.alias(), ctx.request().remoteAddress());
      json(ctx, 200, new JsonObject().put("id", id).put("deleted", true));
    }).onFailure(failure -> unavailable(ctx, failure));
  }

  private void tenants(RoutingContext ctx) {
    governance.store().tenants().onSuccess(admin -> {
      JsonArray data = new JsonArray();
      governance.configTenants().values().stream().sorted(Comparator.comparing(Tenant::name))
        .forEach(t -> data.add(t.toJson()));
      admin.stream().filter(t -> !governance.configTenants().containsKey(t.name()))
        .sorted(Comparator.comparing(Tenant::name)).forEach(t -> data.add(t.toJson()));
      json(ctx, 200, new JsonObject().put("object", "list").put("data", data));
    }).onFailure(failure -> unavailable(ctx, failure));
  }

  private void putTenant(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    Tenant tenant;
    try {
      if (!ID.matcher(name).matches()) {
        throw new Refused(ApiError.badRequest("A tenant name is letters, digits, '.', '_' or '-'.", "name"));
      }
      if (governance.configTenants().containsKey(name)) {
        throw new Refused(configTenant(name));
      }
      JsonObject body = body(ctx, TENANT_FIELDS);
      if (body.containsKey("name") && !name.equals(body.getValue("name"))) {
        throw new Refused(ApiError.badRequest("'name' must match the tenant in the path.", "name"));
      }
      tenant = new Tenant(name, models(body, Set.of()), limits(body, Limits.NONE), Tenant.ADMIN);
    } catch (Refused refused) {
      error(ctx, refused.error);
      return;
    }
    governance.store().putTenant(tenant).onSuccess(x -> {
      governance.announce(new JsonObject().put("tenant", name));
      LOG.info("admin: tenant {} set from {}", name, ctx.request().remoteAddress());
      json(ctx, 200, tenant.toJson());
    }).onFailure(failure -> unavailable(ctx, failure));
  }

  private void deleteTenant(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    if (governance.configTenants().containsKey(name)) {
      error(ctx, configTenant(name));
      return;
    }
    governance.store().deleteTenant(name).onSuccess(found -> {
      if (!found) {
        error(ctx, ApiError.notFound("No tenant '" + name + "' was set through the admin API."));
        return;
      }
      governance.announce(new JsonObject().put("tenant", name));
      json(ctx, 200, new JsonObject().put("name", name).put("deleted", true));
    }).onFailure(failure -> unavailable(ctx, failure));
  }

  private static ApiError configTenant(String name) {
    return new ApiError(409, "invalid_request_error", "conflict", "The tenant '" + name
      + "' is defined in the configuration file; change it there.", "name");
  }

  private static ApiError unknownKey(String id) {
    return ApiError.notFound("No key with id '" + (id.length() > 64 ? id.substring(0, 64) + "…" : id) + "'.");
  }

  // ---- reading the body

  private static JsonObject body(RoutingContext ctx, Set<String> allowed) {
    JsonObject body;
    try {
      body = ctx.body().length() == 0 ? new JsonObject() : ctx.body().asJsonObject();
    } catch (RuntimeException e) {
      throw new Refused(ApiError.badRequest("The body must be a JSON object.", null));
    }
    if (body == null) {
      body = new JsonObject();
    }
    for (String field : body.fieldNames()) {
      if (!allowed.contains(field)) {
        throw new Refused(ApiError.badRequest("'" + (field.length() > 64 ? field.substring(0, 64) : field)
          + "' is not a known field.", field.length() > 64 ? null : field));
      }
    }
    return body;
  }

  /** The key with the fields the body gives (a field given as null is cleared). */
  private static VirtualKey fields(JsonObject body, VirtualKey key, Instant now) {
    String alias = key.alias();
    if (body.containsKey("key_alias")) {
      Object value = body.getValue("key_alias");
      if (value != null && !(value instanceof String s && !s.isBlank() && s.length() <= 128)) {
        throw new Refused(ApiError.badRequest("'key_alias' must be a string of 1-128 characters.", "key_alias"));
      }
      alias = (String) value;
    }
    String tenant = key.tenant();
    if (body.containsKey("tenant")) {
      if (!(body.getValue("tenant") instanceof String t && ID.matcher(t).matches())) {
        throw new Refused(ApiError.badRequest("'tenant' must be letters, digits, '.', '_' or '-'.", "tenant"));
      }
      tenant = t;
    }
    int priority = key.priority();
    if (body.containsKey("priority")) {
      if (!(body.getValue("priority") instanceof Number p && p.doubleValue() == p.intValue() && p.intValue() >= 0
        && p.intValue() <= 9)) {
        throw new Refused(ApiError.badRequest("'priority' must be an integer from 0 to 9.", "priority"));
      }
      priority = p.intValue();
    }
    JsonObject metadata = key.metadata();
    if (body.containsKey("metadata")) {
      Object value = body.getValue("metadata");
      if (value != null && !(value instanceof JsonObject)) {
        throw new Refused(ApiError.badRequest("'metadata' must be an object.", "metadata"));
      }
      metadata = (JsonObject) value;
    }
    Instant expires = key.expires();
    if (body.containsKey("duration") && body.containsKey("expires")) {
      throw new Refused(ApiError.badRequest("Give 'duration' or 'expires', not both.", "duration"));
    }
    if (body.containsKey("duration")) {
      Object value = body.getValue("duration");
      Duration duration = value instanceof String d ? Limits.parseDuration(d) : null;
      if (value != null && duration == null) {
        throw new Refused(ApiError.badRequest("'duration' must be a number and s, m, h, d or w, e.g. \"30d\".",
          "duration"));
      }
      expires = duration == null ? null : now.plus(duration);
    }
    if (body.containsKey("expires")) {
      Object value = body.getValue("expires");
      try {
        expires = value == null ? null : Instant.parse((String) value);
      } catch (ClassCastException | DateTimeParseException e) {
        throw new Refused(ApiError.badRequest("'expires' must be an ISO-8601 UTC time, e.g. "
          + "\"2026-12-31T23:59:59Z\".", "expires"));
      }
    }
    return new VirtualKey(key.id(), key.hash(), key.hint(), alias, tenant, models(body, key.models()),
      limits(body, key.limits()), expires, priority, metadata, key.createdAt());
  }

  private static Set<String> models(JsonObject body, Set<String> current) {
    if (!body.containsKey("models")) {
      return current;
    }
    Object value = body.getValue("models");
    if (value == null) {
      return Set.of();
    }
    if (!(value instanceof JsonArray array)) {
      throw new Refused(ApiError.badRequest("'models' must be an array of model names.", "models"));
    }
    Set<String> models = new HashSet<>();
    for (Object model : array) {
      if (!(model instanceof String m) || m.isBlank() || m.length() > 256) {
        throw new Refused(ApiError.badRequest("'models' must be an array of model names.", "models"));
      }
      models.add(m);
    }
    return models;
  }

  private static Limits limits(JsonObject body, Limits current) {
    long rpm = count(body, "rpm_limit", current.rpmLimit());
    long tpm = count(body, "tpm_limit", current.tpmLimit());
    Double budget = current.maxBudget();
    if (body.containsKey("max_budget")) {
      Object value = body.getValue("max_budget");
      if (value != null && !(value instanceof Number n && n.doubleValue() >= 0 && Double.isFinite(n.doubleValue()))) {
        throw new Refused(ApiError.badRequest("'max_budget' must be a number of USD, 0 or more.", "max_budget"));
      }
      budget = value == null ? null : ((Number) value).doubleValue();
    }
    Duration period = current.budgetDuration();
    if (body.containsKey("budget_duration")) {
      Object value = body.getValue("budget_duration");
      period = value instanceof String d ? Limits.parseDuration(d) : null;
      if (value != null && period == null) {
        throw new Refused(ApiError.badRequest("'budget_duration' must be a number and s, m, h, d or w, e.g. "
          + "\"30d\".", "budget_duration"));
      }
    }
    return new Limits(rpm, tpm, budget, period);
  }

  private static long count(JsonObject body, String field, long current) {
    if (!body.containsKey(field)) {
      return current;
    }
    Object value = body.getValue(field);
    if (value == null) {
      return 0;
    }
    if (!(value instanceof Number n && n.doubleValue() == n.longValue() && n.longValue() >= 0)) {
      throw new Refused(ApiError.badRequest("'" + field + "' must be an integer, 0 or more (or null: no limit).",
        field));
    }
    return n.longValue();
  }

  // ---- answers

  private static byte[] random(int bytes) {
    byte[] out = new byte[bytes];
    RANDOM.nextBytes(out);
    return out;
  }

  private static void unavailable(RoutingContext ctx, Throwable failure) {
    LOG.warn("admin: the key store failed ({})", failure.getMessage());
    error(ctx, ApiError.unavailable("The key store is unreachable; try again shortly."));
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    if (!ctx.response().ended()) {
      ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
    }
  }

  private static void error(RoutingContext ctx, ApiError error) {
    json(ctx, error.status(), error.toJson());
  }
}
