package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.regex.Pattern;

/**
 * What the SockJS handler needs from the router for its non-WebSocket transports, the ones browsers without
 * WebSocket (or behind proxies that block it) fall back to: a body handler on its POST routes ({@code xhr_send},
 * {@code xhr}, {@code xhr_streaming}, {@code jsonp_send}), and a 400 for a {@code jsonp} or {@code htmlfile} callback
 * it would refuse with a 500.
 */
final class SockJsFallbacks {
  /** The callback names the SockJS handler accepts (it refuses any other character). */
  private static final Pattern CALLBACK = Pattern.compile("[a-zA-Z0-9_.\\-]{1,128}");

  private SockJsFallbacks() {
  }

  /** Mount before the SockJS handler at {@code prefix} (e.g. {@code /eventbus}). */
  static void mount(Router router, String prefix, long bodyLimitBytes) {
    router.post(prefix + "/*").handler(BodyHandler.create(false).setBodyLimit(bodyLimitBytes));
    router.getWithRegex(Pattern.quote(prefix) + "/[^/.]+/[^/.]+/(jsonp|htmlfile).*").handler(SockJsFallbacks::callback);
  }

  private static void callback(RoutingContext ctx) {
    String callback = ctx.request().getParam("c");
    if (callback == null) {
      callback = ctx.request().getParam("callback");
    }
    if (callback != null && CALLBACK.matcher(callback).matches()) {
      ctx.next();
      return;
    }
    ApiError error = ApiError.badRequest("The SockJS callback ('c') must be 1-128 of A-Z a-z 0-9 _ . -", "c");
    ctx.response().setStatusCode(400).putHeader("content-type", "application/json").end(error.toJson().toBuffer());
  }
}
