package io.switchboard.session;

import io.switchboard.bus.ChatMessage;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What every {@link ConversationStore} promises; each implementation's test class runs all of it. */
@ExtendWith(VertxExtension.class)
abstract class ConversationStoreContract {
  static final Duration LONG_TTL = Duration.ofMinutes(5);
  private static final AtomicInteger TENANTS = new AtomicInteger();

  // unique per test, so tests sharing one Redis never see each other's keys
  protected final String tenant = "acme-" + ProcessHandle.current().pid() + "-" + TENANTS.incrementAndGet();
  protected final String otherTenant = tenant + ".other";

  private final List<ConversationStore> opened = new ArrayList<>();
  private final List<Vertx> peerNodes = new ArrayList<>();
  protected Vertx vertx;
  protected EventLoop loop;

  /** A store, created on the calling event loop. */
  protected abstract ConversationStore newStore(Vertx vertx, Duration ttl, int maxMessages);

  /** Whether two nodes share conversations (Redis) or each has its own (in memory). */
  protected abstract boolean sharedAcrossNodes();

  @BeforeEach
  void startLoop(Vertx vertx) {
    this.vertx = vertx;
    this.loop = new EventLoop(vertx);
  }

  @AfterEach
  void closeStores() {
    for (ConversationStore store : opened) {
      EventLoop.await(loop.submit(store::close));
    }
    for (Vertx node : peerNodes) {
      EventLoop.await(node.close().toCompletionStage().toCompletableFuture());
    }
  }

  protected ConversationStore open(Duration ttl, int maxMessages) {
    ConversationStore store = loop.create(() -> newStore(vertx, ttl, maxMessages));
    opened.add(store);
    return store;
  }

  protected ConversationStore open() {
    return open(LONG_TTL, 1000);
  }

  static ChatMessage user(String text) {
    return new ChatMessage("user", text);
  }

  static ChatMessage assistant(String text) {
    return new ChatMessage("assistant", text);
  }

  @Test
  void unknownConversationLoadsEmpty() {
    ConversationStore store = open();
    assertEquals(List.of(), loop.call(() -> store.load(tenant, "never-seen")));
    assertEquals(List.of(), loop.call(() -> store.list(tenant)));
  }

  @Test
  void appendedTurnsLoadInOrder() {
    ConversationStore store = open();
    List<ChatMessage> first = List.of(
      new ChatMessage("system", "Be brief."),
      new ChatMessage("user", "Quote \"this\",\nthen a tab\t and ünïcödé 🙂", "alice"));
    List<ChatMessage> second = List.of(assistant("Done."), new ChatMessage("tool", ""));
    loop.call(() -> store.append(tenant, "c-1", first));
    loop.call(() -> store.append(tenant, "c-1", second));

    List<ChatMessage> all = new ArrayList<>(first);
    all.addAll(second);
    assertEquals(all, loop.call(() -> store.load(tenant, "c-1")));
  }

  @Test
  void appendingNothingCreatesNothing() {
    ConversationStore store = open();
    loop.call(() -> store.append(tenant, "empty", List.of()));
    assertEquals(List.of(), loop.call(() -> store.list(tenant)));
  }

  @Test
  void tenantsAreIsolated() {
    ConversationStore store = open();
    loop.call(() -> store.append(tenant, "shared-name", List.of(user("tenant A's secret"))));

    assertEquals(List.of(), loop.call(() -> store.load(otherTenant, "shared-name")));
    assertEquals(List.of(), loop.call(() -> store.list(otherTenant)));
    assertFalse(loop.call(() -> store.delete(otherTenant, "shared-name")));

    loop.call(() -> store.append(otherTenant, "shared-name", List.of(user("tenant B's own"))));
    assertEquals(List.of(user("tenant A's secret")), loop.call(() -> store.load(tenant, "shared-name")));
    assertEquals(List.of(user("tenant B's own")), loop.call(() -> store.load(otherTenant, "shared-name")));
  }

  @Test
  void idsThatCouldReachOtherKeysAreRejected() {
    ConversationStore store = open();
    for (String badTenant : List.of("a:b", "", "tenant*", "x y")) {
      assertInstanceOf(IllegalArgumentException.class,
        EventLoop.failureOf(loop.submit(() -> store.load(badTenant, "c-1"))), badTenant);
      assertInstanceOf(IllegalArgumentException.class,
        EventLoop.failureOf(loop.submit(() -> store.list(badTenant))), badTenant);
    }
    for (String badId : List.of("c:1", "a/b", "*", "")) {
      assertInstanceOf(IllegalArgumentException.class,
        EventLoop.failureOf(loop.submit(() -> store.append(tenant, badId, List.of(user("x"))))), badId);
      assertInstanceOf(IllegalArgumentException.class,
        EventLoop.failureOf(loop.submit(() -> store.delete(tenant, badId))), badId);
    }
  }

  @Test
  void idleConversationExpires() throws InterruptedException {
    ConversationStore store = open(Duration.ofSeconds(1), 100);
    loop.call(() -> store.append(tenant, "short-lived", List.of(user("hello"))));
    assertEquals(List.of("short-lived"), loop.call(() -> store.list(tenant)));

    Thread.sleep(1_300);

    assertEquals(List.of(), loop.call(() -> store.load(tenant, "short-lived")));
    assertEquals(List.of(), loop.call(() -> store.list(tenant)));
    assertFalse(loop.call(() -> store.delete(tenant, "short-lived")));
  }

  @Test
  void loadingAnExpiredConversationDoesNotBringItBack() throws InterruptedException {
    ConversationStore store = open(Duration.ofMillis(1_500), 100);
    loop.call(() -> store.append(tenant, "idle", List.of(user("hello"))));
    loop.call(() -> store.append(tenant, "active", List.of(user("hello"))));
    Thread.sleep(1_000);
    loop.call(() -> store.append(tenant, "active", List.of(user("still here"))));
    Thread.sleep(700);

    assertEquals(List.of(), loop.call(() -> store.load(tenant, "idle")));
    assertEquals(List.of("active"), loop.call(() -> store.list(tenant)));
  }

  @Test
  void useRefreshesTheIdleTtl() throws InterruptedException {
    ConversationStore store = open(Duration.ofMillis(1_500), 100);
    loop.call(() -> store.append(tenant, "kept-alive", List.of(user("hello"))));

    Thread.sleep(1_000);
    assertEquals(1, loop.call(() -> store.load(tenant, "kept-alive")).size());
    Thread.sleep(1_000);
    // 2 s after the append, 1 s after the load: alive only because the load refreshed it
    assertEquals(1, loop.call(() -> store.load(tenant, "kept-alive")).size());
    assertEquals(List.of("kept-alive"), loop.call(() -> store.list(tenant)));
  }

  @Test
  void keepsOnlyTheNewestMaxMessages() {
    ConversationStore store = open(LONG_TTL, 5);
    loop.call(() -> store.append(tenant, "long", List.of(user("1"), assistant("2"), user("3"))));
    loop.call(() -> store.append(tenant, "long", List.of(assistant("4"), user("5"), assistant("6"), user("7"))));
    assertEquals(List.of(user("3"), assistant("4"), user("5"), assistant("6"), user("7")),
      loop.call(() -> store.load(tenant, "long")));

    List<ChatMessage> tooMany = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      tooMany.add(user("m" + i));
    }
    loop.call(() -> store.append(tenant, "burst", tooMany));
    assertEquals(tooMany.subList(3, 8), loop.call(() -> store.load(tenant, "burst")));
  }

  @Test
  void concurrentAppendsFromTwoNodesAreAllKept() {
    ConversationStore first = open();
    Node other = sharedAcrossNodes() ? openOnAnotherNode() : new Node(loop, first);

    List<CompletableFuture<Void>> appends = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      String a = "a" + i;
      String b = "b" + i;
      appends.add(loop.submit(() -> first.append(tenant, "busy", List.of(user(a), assistant(a)))));
      appends.add(other.loop().submit(() -> other.store().append(tenant, "busy", List.of(user(b), assistant(b)))));
    }
    appends.forEach(EventLoop::await);

    List<ChatMessage> stored = loop.call(() -> first.load(tenant, "busy"));
    assertEquals(200, stored.size());
    Set<String> questions = new HashSet<>();
    for (int i = 0; i < stored.size(); i += 2) {
      // one append's messages stay together
      assertEquals("user", stored.get(i).role());
      assertEquals(stored.get(i).text(), stored.get(i + 1).text());
      questions.add(stored.get(i).text());
    }
    assertEquals(100, questions.size());
  }

  @Test
  void deleteRemovesTheConversation() {
    ConversationStore store = open();
    loop.call(() -> store.append(tenant, "doomed", List.of(user("bye"))));
    loop.call(() -> store.append(tenant, "survivor", List.of(user("hi"))));

    assertTrue(loop.call(() -> store.delete(tenant, "doomed")));
    assertEquals(List.of(), loop.call(() -> store.load(tenant, "doomed")));
    assertEquals(List.of("survivor"), loop.call(() -> store.list(tenant)));
    assertFalse(loop.call(() -> store.delete(tenant, "doomed")));
  }

  @Test
  void listsLiveConversationsMostRecentlyUsedFirst() throws InterruptedException {
    ConversationStore store = open();
    for (String id : List.of("c-1", "c-2", "c-3")) {
      loop.call(() -> store.append(tenant, id, List.of(user(id))));
      Thread.sleep(5);
    }
    loop.call(() -> store.load(tenant, "c-1"));
    assertEquals(List.of("c-1", "c-3", "c-2"), loop.call(() -> store.list(tenant)));
  }

  private record Node(EventLoop loop, ConversationStore store) {
  }

  private Node openOnAnotherNode() {
    Vertx node = Vertx.vertx();
    peerNodes.add(node);
    EventLoop nodeLoop = new EventLoop(node);
    ConversationStore store = nodeLoop.create(() -> newStore(node, LONG_TTL, 1000));
    opened.add(store);
    return new Node(nodeLoop, store);
  }
}
