package io.switchboard.connection;

import io.switchboard.config.SwitchboardConfig;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Maps a presented API key to its tenant. Only SHA-256 digests of the keys are kept, and every presented
 * key is compared with every known digest in constant time, so timing says nothing about how close a guess is.
 */
final class ApiKeys {
  /** Who a request acts for. */
  record Tenant(String name, int priority) {
  }

  static final Tenant ANONYMOUS = new Tenant("default", 0);

  private record Entry(byte[] digest, Tenant tenant) {
  }

  private final boolean enabled;
  private final List<Entry> entries;

  ApiKeys(SwitchboardConfig.Auth auth) {
    this.enabled = auth.enabled();
    this.entries = auth.keys().stream()
      .map(k -> new Entry(sha256(k.key()), new Tenant(k.tenant(), k.priority())))
      .toList();
  }

  boolean enabled() {
    return enabled;
  }

  /** The tenant for an {@code Authorization} header value, or null when the key is missing or unknown. */
  Tenant authenticate(String authorization) {
    if (!enabled) {
      return ANONYMOUS;
    }
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    byte[] presented = sha256(authorization.substring(7).trim());
    Tenant match = null;
    for (Entry entry : entries) {
      if (MessageDigest.isEqual(entry.digest, presented)) {
        match = entry.tenant;
      }
    }
    return match;
  }

  private static byte[] sha256(String key) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }
}
