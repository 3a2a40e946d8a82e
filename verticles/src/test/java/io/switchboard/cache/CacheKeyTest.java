package io.switchboard.cache;

import io.switchboard.bus.ChatMessage;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The same question makes the same key; anything that changes the answer makes another. */
class CacheKeyTest {
  private static final List<ChatMessage> HELLO = List.of(new ChatMessage("system", "Be brief."),
    new ChatMessage("user", "Hello"));

  private static CacheKey key(String tenant, String model, List<ChatMessage> messages, JsonObject options) {
    return CacheKey.of(tenant, model, messages, options);
  }

  @Test
  void field_order_and_delivery_fields_do_not_change_the_key() {
    JsonObject options = new JsonObject().put("temperature", 0.2).put("max_tokens", 50)
      .put("response_format", new JsonObject().put("type", "json_schema").put("strict", true));
    JsonObject reordered = new JsonObject().put("response_format", new JsonObject().put("strict", true)
      .put("type", "json_schema")).put("max_tokens", 50).put("temperature", 0.2)
      .put("stream_options", new JsonObject().put("include_usage", true)).put("user", "u-1")
      .put("metadata", new JsonObject().put("a", "b"));
    assertEquals(key("acme", "m", HELLO, options), key("acme", "m", HELLO, reordered));
    List<ChatMessage> reorderedMessage = List.of(new ChatMessage(new JsonObject().put("content", "Be brief.")
      .put("role", "system")), new ChatMessage("user", "Hello"));
    assertEquals(key("acme", "m", HELLO, null), key("acme", "m", reorderedMessage, new JsonObject()));
  }

  @Test
  void tenant_model_messages_and_answer_changing_options_do() {
    CacheKey base = key("acme", "m", HELLO, new JsonObject().put("temperature", 0.2));
    assertNotEquals(base, key("globex", "m", HELLO, new JsonObject().put("temperature", 0.2)));
    assertNotEquals(base, key("acme", "m2", HELLO, new JsonObject().put("temperature", 0.2)));
    assertNotEquals(base, key("acme", "m", HELLO, new JsonObject().put("temperature", 0.3)));
    assertNotEquals(base, key("acme", "m", HELLO, new JsonObject().put("temperature", 0.2).put("seed", 1)));
    assertNotEquals(base, key("acme", "m", List.of(new ChatMessage("user", "Hello")),
      new JsonObject().put("temperature", 0.2)), "memory or a system prompt is part of the question");
    assertNotEquals(base, key("acme", "m", HELLO, new JsonObject().put("temperature", 0.2)
      .put("tools", new JsonArray().add(new JsonObject().put("type", "function")))));
    // a value that looks like the canonical separators cannot make two questions one
    assertNotEquals(key("acme", "m", List.of(new ChatMessage("user", "a\",\"b")), null),
      key("acme", "m", List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b")), null));
  }

  @Test
  void keys_name_their_tenant_and_model_so_that_either_can_be_flushed_alone() {
    CacheKey key = key("acme", "org/model:v1", HELLO, null);
    assertTrue(key.id().startsWith("sb:cache:acme:org/model%3av1:"), key.id());
    assertTrue(CacheKey.matches(key.id(), "acme", null));
    assertTrue(CacheKey.matches(key.id(), null, "org/model:v1"));
    assertFalse(CacheKey.matches(key.id(), "acm", null));
    assertFalse(CacheKey.matches(key.id(), null, "v1"), "a model name's part is not the model");
    assertEquals("sb:cache:acme:*:*", CacheKey.pattern("acme", null));
    assertEquals("sb:cache:*:org/model%3av1:*", CacheKey.pattern(null, "org/model:v1"));
    assertTrue(key.lockId().startsWith("sb:cache-lock:acme:"), "locks are not entries: a flush leaves them alone");
  }
}
