package io.switchboard.session;

import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.History;
import io.switchboard.bus.HistoryAppend;
import io.switchboard.bus.HistoryQuery;
import io.switchboard.bus.IdentityLink;
import io.switchboard.bus.IdentityQuery;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.switchboard.eventbus.PreferLocal;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Function;

/**
 * Conversation memory: loads a conversation's earlier turns and appends new ones. The store is chosen by
 * configuration; when it fails, the request fails with 503 and the caller goes on without memory.
 */
public final class SessionVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(SessionVerticle.class);

  private final Function<Vertx, ConversationStore> storeFactory;
  private final Function<Vertx, IdentityStore> identityFactory;
  private ConversationStore store;
  private IdentityStore identities;

  public SessionVerticle(Function<Vertx, ConversationStore> storeFactory, Function<Vertx, IdentityStore> identityFactory) {
    this.storeFactory = storeFactory;
    this.identityFactory = identityFactory;
  }

  @Override
  public Future<?> start() {
    store = storeFactory.apply(vertx);
    identities = identityFactory.apply(vertx);
    return Future.all(
      PreferLocal.<HistoryQuery>serve(vertx.eventBus(), Addresses.SESSION_LOAD, this::load),
      PreferLocal.<HistoryAppend>serve(vertx.eventBus(), Addresses.SESSION_APPEND, this::append),
      PreferLocal.<String>serve(vertx.eventBus(), Addresses.SESSION_LIST, message -> store.list(message.body())
        .onSuccess(ids -> message.reply(new JsonArray(ids))).onFailure(failure -> unavailable(message, failure))),
      PreferLocal.<HistoryQuery>serve(vertx.eventBus(), Addresses.SESSION_DELETE, message ->
        store.delete(message.body().tenant(), message.body().conversationId())
          .onSuccess(message::reply).onFailure(failure -> unavailable(message, failure))),
      PreferLocal.<IdentityQuery>serve(vertx.eventBus(), Addresses.SESSION_IDENTIFY, message -> {
        IdentityQuery q = message.body();
        identities.identify(q.tenant(), q.channel(), q.externalId())
          .onSuccess(message::reply).onFailure(failure -> unavailable(message, failure));
      }),
      PreferLocal.<IdentityLink>serve(vertx.eventBus(), Addresses.SESSION_LINK, message -> {
        IdentityLink l = message.body();
        identities.link(l.tenant(), l.channel(), l.externalId(), l.toChannel(), l.toExternalId())
          .onSuccess(message::reply).onFailure(failure -> unavailable(message, failure));
      }));
  }

  @Override
  public Future<?> stop() {
    return store.close();
  }

  private void load(Message<HistoryQuery> message) {
    HistoryQuery query = message.body();
    store.load(query.tenant(), query.conversationId())
      .onSuccess(messages -> message.reply(new History(messages)))
      .onFailure(failure -> unavailable(message, failure));
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
