package io.switchboard.connection;

import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ConversationIds;
import io.switchboard.bus.History;
import io.switchboard.bus.HistoryQuery;
import io.switchboard.bus.IdentityLink;
import io.switchboard.eventbus.PreferLocal;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.function.BiConsumer;

/**
 * A tenant's own conversations: list, read, delete; and linking two senders (e.g. a WeCom user and a
 * Feishu user) into one person, so they share memory. Another tenant's conversation is a 404, never its data.
 */
final class ConversationApi {
  private static final long TIMEOUT_MILLIS = 3_000;

  private final Vertx vertx;
  private final BiConsumer<RoutingContext, ApiError> fail;
  private final BiConsumer<RoutingContext, JsonObject> ok;

  ConversationApi(Vertx vertx, BiConsumer<RoutingContext, ApiError> fail, BiConsumer<RoutingContext, JsonObject> ok) {
    this.vertx = vertx;
    this.fail = fail;
    this.ok = ok;
  }

  void mount(Router router, Handler<RoutingContext> authenticate) {
    router.get("/v1/conversations").handler(authenticate).handler(this::list);
    router.get("/v1/conversations/:id").handler(authenticate).handler(this::read);
    router.delete("/v1/conversations/:id").handler(authenticate).handler(this::delete);
    router.post("/v1/identities/link").handler(BodyHandler.create(false).setBodyLimit(4096)).handler(authenticate)
      .handler(this::link);
  }

  private static String tenant(RoutingContext ctx) {
    return ctx.<io.switchboard.governance.Caller>get(ConnectionVerticle.CALLER).tenant();
  }

  private String conversation(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    if (!ConversationIds.isValid(id)) {
      fail.accept(ctx, ApiError.badRequest("A conversation id is 1-128 characters of A-Z a-z 0-9 . _ -.", "id"));
      return null;
    }
    return id;
  }

  private void list(RoutingContext ctx) {
    PreferLocal.<JsonArray>request(vertx.eventBus(), Addresses.SESSION_LIST, tenant(ctx), TIMEOUT_MILLIS)
      .onSuccess(reply -> {
        JsonArray data = new JsonArray();
        reply.body().forEach(id -> data.add(new JsonObject().put("id", id).put("object", "conversation")));
        ok.accept(ctx, new JsonObject().put("object", "list").put("data", data));
      })
      .onFailure(failure -> fail.accept(ctx, ApiError.from(failure)));
  }

  private void read(RoutingContext ctx) {
    String id = conversation(ctx);
    if (id == null) {
      return;
    }
    PreferLocal.<History>request(vertx.eventBus(), Addresses.SESSION_LOAD, new HistoryQuery(tenant(ctx), id),
        TIMEOUT_MILLIS)
      .onSuccess(reply -> {
        if (reply.body().messages().isEmpty()) {
          fail.accept(ctx, ApiError.notFound("No conversation '" + id + "'."));
          return;
        }
        JsonArray messages = new JsonArray();
        for (ChatMessage message : reply.body().messages()) {
          messages.add(message.json());
        }
        ok.accept(ctx, new JsonObject().put("id", id).put("object", "conversation").put("messages", messages));
      })
      .onFailure(failure -> fail.accept(ctx, ApiError.from(failure)));
  }

  private void delete(RoutingContext ctx) {
    String id = conversation(ctx);
    if (id == null) {
      return;
    }
    PreferLocal.<Boolean>request(vertx.eventBus(), Addresses.SESSION_DELETE, new HistoryQuery(tenant(ctx), id),
        TIMEOUT_MILLIS)
      .onSuccess(reply -> {
        if (Boolean.TRUE.equals(reply.body())) {
          ok.accept(ctx, new JsonObject().put("id", id).put("object", "conversation.deleted").put("deleted", true));
        } else {
          fail.accept(ctx, ApiError.notFound("No conversation '" + id + "'."));
        }
      })
      .onFailure(failure -> fail.accept(ctx, ApiError.from(failure)));
  }

  /** {@code {"channel":"feishu","user_id":"ou_1","to":{"channel":"wecom","user_id":"zhangsan"}}} */
  private void link(RoutingContext ctx) {
    IdentityLink link;
    try {
      JsonObject body = ctx.body().asJsonObject();
      JsonObject to = body.getJsonObject("to");
      link = new IdentityLink(tenant(ctx), body.getString("channel"), body.getString("user_id"),
        to.getString("channel"), to.getString("user_id"));
    } catch (RuntimeException e) {
      fail.accept(ctx, ApiError.badRequest("Body must be {\"channel\",\"user_id\",\"to\":{\"channel\",\"user_id\"}} "
        + "with channels of a-z 0-9 . _ - and non-empty user ids.", null));
      return;
    }
    PreferLocal.<String>request(vertx.eventBus(), Addresses.SESSION_LINK, link, TIMEOUT_MILLIS)
      .onSuccess(reply -> ok.accept(ctx, new JsonObject().put("object", "identity.link").put("person_id", reply.body())
        .put("conversation_id", io.switchboard.bus.Identities.conversationOf(reply.body()))))
      .onFailure(failure -> fail.accept(ctx, ApiError.from(failure)));
  }
}
