package io.switchboard.session;

import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.History;
import io.switchboard.bus.HistoryAppend;
import io.switchboard.bus.HistoryQuery;
import io.switchboard.bus.IdentityLink;
import io.switchboard.bus.IdentityQuery;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.PromptQuery;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.switchboard.eventbus.PreferLocal;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.switchboard.eventbus.Drain;
import io.vertx.core.eventbus.MessageConsumer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Conversation memory: builds the prompt of a turn from a conversation's earlier turns (trimmed to the model's
 * context budget), appends new turns, lists, reads and deletes conversations. The store is chosen by
 * configuration; when it fails, the request fails with 503 and the caller goes on without memory.
 */
public final class SessionVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(SessionVerticle.class);
  private static final long STORE_CALL_GRACE_MILLIS = 1_000;

  private final Function<Vertx, ConversationStore> storeFactory;
  private final Function<Vertx, IdentityStore> identityFactory;
  private final Function<Vertx, ResponseStore> responseFactory;
  /** Made in start(), off the event loop: its vocabulary takes about half a second to load. */
  private HistoryTrimmer trimmer;
  private ConversationStore store;
  private IdentityStore identities;
  private ResponseStore responses;
  /** The session addresses: closed first when this instance is undeployed, so a newer one takes the new calls. */
  private final List<MessageConsumer<?>> intake = new ArrayList<>();

  public SessionVerticle(Function<Vertx, ConversationStore> storeFactory, Function<Vertx, IdentityStore> identityFactory,
                         Function<Vertx, ResponseStore> responseFactory) {
    this.storeFactory = storeFactory;
    this.identityFactory = identityFactory;
    this.responseFactory = responseFactory;
  }

  @Override
  public Future<?> start() {
    store = storeFactory.apply(vertx);
    identities = identityFactory.apply(vertx);
    responses = responseFactory.apply(vertx);
    // the tokenizer's vocabulary loads once (about half a second), off the event loop; nothing is served before
    Future<Object> warmUp = vertx.executeBlocking(() -> {
      HistoryTrimmer loaded = HistoryTrimmer.o200k();
      loaded.count(List.of(new ChatMessage("user", "warm up")));
      return loaded;
    }).map(loaded -> {
      trimmer = loaded;
      return null;
    });
    return warmUp.compose(x -> Future.all(List.of(
      PreferLocal.<HistoryQuery>serve(vertx.eventBus(), Addresses.SESSION_LOAD, this::load, intake),
      PreferLocal.<PromptQuery>serve(vertx.eventBus(), Addresses.SESSION_PROMPT, this::prompt, intake),
      PreferLocal.<HistoryAppend>serve(vertx.eventBus(), Addresses.SESSION_APPEND, this::append, intake),
      PreferLocal.<String>serve(vertx.eventBus(), Addresses.SESSION_LIST, message -> store.list(message.body())
        .onSuccess(ids -> message.reply(new JsonArray(ids))).onFailure(failure -> unavailable(message, failure)), intake),
      PreferLocal.<HistoryQuery>serve(vertx.eventBus(), Addresses.SESSION_DELETE, message ->
        store.delete(message.body().tenant(), message.body().conversationId())
          .onSuccess(message::reply).onFailure(failure -> unavailable(message, failure)), intake),
      PreferLocal.<IdentityQuery>serve(vertx.eventBus(), Addresses.SESSION_IDENTIFY, message -> {
        IdentityQuery q = message.body();
        identities.identify(q.tenant(), q.channel(), q.externalId())
          .onSuccess(message::reply).onFailure(failure -> unavailable(message, failure));
      }, intake),
      PreferLocal.<IdentityLink>serve(vertx.eventBus(), Addresses.SESSION_LINK, message -> {
        IdentityLink l = message.body();
        identities.link(l.tenant(), l.channel(), l.externalId(), l.toChannel(), l.toExternalId())
          .onSuccess(message::reply).onFailure(failure -> unavailable(message, failure));
      }, intake),
      PreferLocal.<JsonObject>serve(vertx.eventBus(), Addresses.SESSION_RESPONSE_GET, message ->
        responses.get(message.body().getString("tenant"), message.body().getString("id"))
          .onSuccess(message::reply).onFailure(failure -> unavailable(message, failure)), intake),
      PreferLocal.<JsonObject>serve(vertx.eventBus(), Addresses.SESSION_RESPONSE_PUT, message ->
        responses.put(message.body().getString("tenant"), message.body().getString("id"),
            message.body().getJsonObject("record"))
          .onSuccess(v -> message.reply(null)).onFailure(failure -> unavailable(message, failure)), intake),
      PreferLocal.<JsonObject>serve(vertx.eventBus(), Addresses.SESSION_RESPONSE_DELETE, message ->
        responses.delete(message.body().getString("tenant"), message.body().getString("id"))
          .onSuccess(message::reply).onFailure(failure -> unavailable(message, failure)), intake))));
  }

  @Override
  public Future<?> stop() {
    // a store call in flight is bounded by the store's own timeouts (Redis: see RedisGuard): this long covers it
    return PreferLocal.stopServing(intake).compose(v -> Drain.until(vertx, () -> false, STORE_CALL_GRACE_MILLIS))
      .compose(v -> Future.all(store.close(), responses.close()));
  }

  private void load(Message<HistoryQuery> message) {
    HistoryQuery query = message.body();
    store.load(query.tenant(), query.conversationId())
      .onSuccess(messages -> message.reply(new History(messages)))
      .onFailure(failure -> unavailable(message, failure));
  }

  /** The stored turns, then the new ones, cut to the model's context budget (see {@link HistoryTrimmer}). */
  private void prompt(Message<PromptQuery> message) {
    PromptQuery query = message.body();
    store.load(query.tenant(), query.conversationId())
      .onSuccess(stored -> {
        List<ChatMessage> all = withHistory(stored, query.fresh());
        message.reply(new History(stored.isEmpty() || query.contextTokens() == 0 ? all
          : trimmer.trim(all, query.contextTokens())));
      })
      .onFailure(failure -> unavailable(message, failure));
  }

  /** Stored turns first; a system prompt in the new request replaces any stored one. */
  static List<ChatMessage> withHistory(List<ChatMessage> history, List<ChatMessage> fresh) {
    if (history.isEmpty()) {
      return fresh;
    }
    boolean freshSystem = fresh.stream().anyMatch(ChatMessage::isSystem);
    List<ChatMessage> all = new ArrayList<>(history.size() + fresh.size());
    for (ChatMessage message : history) {
      if (!(freshSystem && message.isSystem())) {
        all.add(message);
      }
    }
    all.addAll(fresh);
    return all;
  }

  private void append(Message<HistoryAppend> message) {
    HistoryAppend append = message.body();
    store.append(append.tenant(), append.conversationId(), append.messages())
      .onSuccess(v -> message.reply(null))
      .onFailure(failure -> unavailable(message, failure));
  }

  private static void unavailable(Message<?> message, Throwable failure) {
    LOG.warn("conversation store failed: {}", failure.getMessage());
    ApiError.unavailable("Conversation memory is unavailable.").failReply(message);
  }
}
