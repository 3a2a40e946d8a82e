package io.switchboard.governance;

import io.vertx.core.Future;

import java.util.List;

/**
 * Where admin-API keys and admin-API tenants live: this node's memory (the embedded default) or Redis (every node
 * sees them). A lookup that finds nothing completes with null.
 */
public interface KeyStore {
  Future<VirtualKey> byHash(String hash);

  Future<VirtualKey> byId(String id);

  Future<List<VirtualKey>> keys();

  /** Creates or replaces (same id) a key. */
  Future<Void> put(VirtualKey key);

  /** The key removed, or null when there was none. */
  Future<VirtualKey> delete(String id);

  Future<List<Tenant>> tenants();

  Future<Void> putTenant(Tenant tenant);

  Future<Boolean> deleteTenant(String name);
}
