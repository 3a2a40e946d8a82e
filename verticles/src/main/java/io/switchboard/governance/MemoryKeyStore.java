package io.switchboard.governance;

import io.vertx.core.Future;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Keys and tenants in this node's memory: the embedded default (one node; lost on a restart). */
final class MemoryKeyStore implements KeyStore {
  private final Map<String, VirtualKey> byId = new ConcurrentHashMap<>();
  private final Map<String, String> idByHash = new ConcurrentHashMap<>();
  private final Map<String, Tenant> tenants = new ConcurrentHashMap<>();

  @Override
  public Future<VirtualKey> byHash(String hash) {
    String id = idByHash.get(hash);
    return Future.succeededFuture(id == null ? null : byId.get(id));
  }

  @Override
  public Future<VirtualKey> byId(String id) {
    return Future.succeededFuture(byId.get(id));
  }

  @Override
  public Future<List<VirtualKey>> keys() {
    return Future.succeededFuture(new ArrayList<>(byId.values()));
  }

  @Override
  public Future<Void> put(VirtualKey key) {
    byId.put(key.id(), key);
    idByHash.put(key.hash(), key.id());
    return Future.succeededFuture();
  }

  @Override
  public Future<VirtualKey> delete(String id) {
    VirtualKey key = byId.remove(id);
    if (key != null) {
      idByHash.remove(key.hash());
    }
    return Future.succeededFuture(key);
  }

  @Override
  public Future<List<Tenant>> tenants() {
    return Future.succeededFuture(new ArrayList<>(tenants.values()));
  }

  @Override
  public Future<Void> putTenant(Tenant tenant) {
    tenants.put(tenant.name(), tenant);
    return Future.succeededFuture();
  }

  @Override
  public Future<Boolean> deleteTenant(String name) {
    return Future.succeededFuture(tenants.remove(name) != null);
  }
}
