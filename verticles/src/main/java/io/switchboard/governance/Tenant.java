package io.switchboard.governance;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Set;

/**
 * A tenant's allow-list and limits; a key's own limits apply inside its tenant's.
 *
 * @param models the public models its keys may call; empty = every model
 * @param source {@code config} (from the YAML, read-only through the admin API) or {@code admin}
 */
public record Tenant(String name, Set<String> models, Limits limits, String source) {
  public static final String CONFIG = "config";
  public static final String ADMIN = "admin";

  public Tenant {
    models = Set.copyOf(models);
  }

  public static Tenant unlimited(String name) {
    return new Tenant(name, Set.of(), Limits.NONE, CONFIG);
  }

  public boolean allows(String model) {
    return models.isEmpty() || models.contains(model);
  }

  public static Tenant fromJson(JsonObject json) {
    Set<String> models = new java.util.HashSet<>();
    json.getJsonArray("models", new JsonArray()).forEach(m -> models.add((String) m));
    return new Tenant(json.getString("name"), models, Limits.fromJson(json), json.getString("source", ADMIN));
  }

  public JsonObject toJson() {
    return limits.toJson(new JsonObject().put("name", name).put("models", new JsonArray(models.stream().sorted()
      .toList()))).put("source", source);
  }
}
