package io.switchboard.governance;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.HashSet;
import java.util.Set;

/**
 * An admin-API key as stored: never its secret, only the secret's SHA-256 and a hint of its last characters.
 *
 * @param expires  null = never
 * @param metadata the operator's own JSON object, kept as given
 */
public record VirtualKey(String id, String hash, String hint, String alias, String tenant, Set<String> models,
                         Limits limits, Instant expires, int priority, JsonObject metadata, Instant createdAt) {
  public VirtualKey {
    models = Set.copyOf(models);
    metadata = metadata == null ? new JsonObject() : metadata.copy();
  }

  @Override
  public String toString() {
    return "VirtualKey[id=" + id + ", alias=" + alias + ", tenant=" + tenant + "]";
  }

  public Caller caller() {
    return new Caller(id, alias, tenant, priority, models, limits, expires == null ? 0 : expires.toEpochMilli(), hash);
  }

  /** As stored (hash included). */
  public JsonObject stored() {
    return publicJson().put("hash", hash);
  }

  /** As the admin API shows it: the hint, never the hash. */
  public JsonObject publicJson() {
    return limits.toJson(new JsonObject().put("id", id).put("key_alias", alias).put("tenant", tenant)
        .put("models", new JsonArray(models.stream().sorted().toList())))
      .put("expires", expires == null ? null : expires.toString()).put("priority", priority)
      .put("metadata", metadata.copy()).put("created_at", createdAt.toString()).put("key_hint", hint);
  }

  public static VirtualKey fromStored(JsonObject json) {
    JsonArray models = json.getJsonArray("models", new JsonArray());
    Set<String> names = new HashSet<>();
    models.forEach(m -> names.add((String) m));
    Limits limits = Limits.fromJson(json);
    String expires = json.getString("expires");
    return new VirtualKey(json.getString("id"), json.getString("hash"), json.getString("key_hint"),
      json.getString("key_alias"), json.getString("tenant"), names, limits,
      expires == null ? null : Instant.parse(expires), json.getInteger("priority", 0),
      json.getJsonObject("metadata"), Instant.parse(json.getString("created_at")));
  }
}
