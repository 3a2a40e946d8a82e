package io.switchboard.cache;

import io.switchboard.bus.ChatMessage;
import io.switchboard.json.JsonText;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What makes two chat requests the same question: the tenant, the public model, every message sent upstream (memory
 * included) and every request field that can change the answer, written canonically (object keys sorted, so a client
 * that orders its fields differently asks the same question) and digested with SHA-256. The Redis key spells out the
 * tenant and the model so that an operator can flush either; neither can hold a ':' there, so one tenant's or model's
 * pattern never matches another's keys.
 *
 * @param id the entry's name in both layers: {@code sb:cache:<tenant>:<model>:<sha256>}
 */
public record CacheKey(String id, String tenant, String model) {
  /** The key's prefix in Redis (values); locks live beside them under {@link #LOCK_PREFIX}. */
  public static final String PREFIX = "sb:cache:";
  public static final String LOCK_PREFIX = "sb:cache-lock:";
  /** Bumped when what goes into the digest changes, so old entries are never read as new ones. */
  private static final String VERSION = "v1";
  /**
   * Request fields that do not change the answer: how it is delivered ({@code stream} itself is not an option;
   * {@code stream_options} only adds the usage chunk, which a replay writes when asked), and what only the
   * provider's bookkeeping reads (end-user ids for abuse monitoring, stored-completion metadata, prompt cache hints).
   */
  static final Set<String> IGNORED = Set.of("stream_options", "user", "metadata", "store", "safety_identifier",
    "prompt_cache_key");
  private static final HexFormat HEX = HexFormat.of();

  public static CacheKey of(String tenant, String model, List<ChatMessage> messages, JsonObject options) {
    StringBuilder canonical = new StringBuilder(256).append(VERSION).append('\n');
    JsonText.appendQuoted(canonical, tenant);
    canonical.append('\n');
    JsonText.appendQuoted(canonical, model);
    canonical.append("\n[");
    for (int i = 0; i < messages.size(); i++) {
      if (i > 0) {
        canonical.append(',');
      }
      write(canonical, messages.get(i).json());
    }
    canonical.append("]\n{");
    if (options != null) {
      String[] fields = options.fieldNames().toArray(String[]::new);
      Arrays.sort(fields);
      boolean first = true;
      for (String field : fields) {
        if (IGNORED.contains(field)) {
          continue;
        }
        if (!first) {
          canonical.append(',');
        }
        first = false;
        JsonText.appendQuoted(canonical, field);
        canonical.append(':');
        writeValue(canonical, options.getValue(field));
      }
    }
    canonical.append('}');
    String digest = HEX.formatHex(sha256().digest(canonical.toString().getBytes(StandardCharsets.UTF_8)));
    return new CacheKey(PREFIX + tenant + ':' + segment(model) + ':' + digest, tenant, model);
  }

  /** The claim on computing this entry (see {@link SharedLayer}). */
  public String lockId() {
    return LOCK_PREFIX + id.substring(PREFIX.length());
  }

  /** Whether this key belongs to the tenant and model given (null matches any). */
  public static boolean matches(String id, String tenant, String model) {
    if (!id.startsWith(PREFIX)) {
      return false;
    }
    String[] parts = id.substring(PREFIX.length()).split(":", 3);
    return parts.length == 3 && (tenant == null || parts[0].equals(tenant))
      && (model == null || parts[1].equals(segment(model)));
  }

  /** The Redis SCAN pattern of the entries of a tenant and/or model (null: any). */
  public static String pattern(String tenant, String model) {
    return PREFIX + (tenant == null ? "*" : glob(tenant)) + ':' + (model == null ? "*" : glob(segment(model))) + ":*";
  }

  /** A model name as one key segment: ':' (allowed in model names) and anything unusual percent-encoded. */
  static String segment(String value) {
    StringBuilder out = null;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      boolean plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
        || c == '-' || c == '/';
      if (!plain && out == null) {
        out = new StringBuilder(value.length() + 8).append(value, 0, i);
      }
      if (out != null) {
        if (plain) {
          out.append(c);
        } else {
          for (byte b : String.valueOf(c).getBytes(StandardCharsets.UTF_8)) {
            out.append('%').append(HEX.toHexDigits(b));
          }
        }
      }
    }
    return out == null ? value : out.toString();
  }

  /** Redis glob metacharacters escaped (tenant ids and encoded model names have none, but a pattern must be exact). */
  private static String glob(String value) {
    return value.replaceAll("([*?\\[\\]\\\\])", "\\\\$1");
  }

  private static void write(StringBuilder out, JsonObject object) {
    String[] fields = object.fieldNames().toArray(String[]::new);
    Arrays.sort(fields);
    out.append('{');
    for (int i = 0; i < fields.length; i++) {
      if (i > 0) {
        out.append(',');
      }
      JsonText.appendQuoted(out, fields[i]);
      out.append(':');
      writeValue(out, object.getValue(fields[i]));
    }
    out.append('}');
  }

  @SuppressWarnings("unchecked")
  private static void writeValue(StringBuilder out, Object value) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof String text) {
      JsonText.appendQuoted(out, text);
    } else if (value instanceof JsonObject object) {
      write(out, object);
    } else if (value instanceof Map<?, ?> map) {
      write(out, new JsonObject((Map<String, Object>) map));
    } else if (value instanceof JsonArray array) {
      out.append('[');
      for (int i = 0; i < array.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        writeValue(out, array.getValue(i));
      }
      out.append(']');
    } else if (value instanceof List<?> list) {
      writeValue(out, new JsonArray(list));
    } else {
      out.append(value); // numbers and booleans: 1 and 1.0 are different questions, as the client wrote them
    }
  }

  /** One digest per thread (event loops reuse theirs): no provider lookup per key. digest() resets it. */
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JVM", e);
    }
  });

  private static MessageDigest sha256() {
    return SHA256.get();
  }

  @Override
  public String toString() {
    return id;
  }
}
