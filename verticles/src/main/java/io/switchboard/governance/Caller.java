package io.switchboard.governance;

import java.util.Set;

/**
 * Who a request acts for, as authentication found it.
 *
 * @param keyId           {@code key_<hex>} for an admin-API key, {@code yaml:<index>} for a key from the YAML,
 *                        {@code anonymous} when auth is off (and for IM channels, which act for their tenant)
 * @param keyAlias        the key's alias; null when it has none
 * @param tenant          {@code default} when none
 * @param models          the key's own allow-list; empty = every model (its tenant's list still applies)
 * @param limits          the key's own limits
 * @param expiresAtMillis when an admin-API key stops working; 0 = never
 * @param keyHash         SHA-256 (hex) of an admin-API key's secret, to check it again on long-lived sockets; null
 *                        for other keys. Not a secret, but toString leaves it out anyway.
 */
public record Caller(String keyId, String keyAlias, String tenant, int priority, Set<String> models, Limits limits,
                     long expiresAtMillis, String keyHash) {
  public static final String ANONYMOUS_ID = "anonymous";
  public static final Caller ANONYMOUS = tenantOnly("default", 0);

  public Caller {
    models = Set.copyOf(models);
  }

  /** A caller that is only its tenant: auth off, or an IM channel. */
  public static Caller tenantOnly(String tenant, int priority) {
    return new Caller(ANONYMOUS_ID, null, tenant, priority, Set.of(), Limits.NONE, 0, null);
  }

  public boolean allows(String model) {
    return models.isEmpty() || models.contains(model);
  }

  public boolean expired(long nowMillis) {
    return expiresAtMillis > 0 && nowMillis >= expiresAtMillis;
  }

  @Override
  public String toString() {
    return "Caller[keyId=" + keyId + ", alias=" + keyAlias + ", tenant=" + tenant + ", priority=" + priority + "]";
  }
}
