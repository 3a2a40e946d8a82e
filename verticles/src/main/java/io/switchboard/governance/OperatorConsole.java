package io.switchboard.governance;

import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The operator console: static files from the jar ({@code console/}) on the management port at {@code /console/}.
 * The page holds no data of its own; it calls the admin API with the token the operator types.
 */
public final class OperatorConsole {
  /** Scripts and styles only from the page's own files; no inline script, no framing, no form posts, no referrer. */
  static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
    + "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private OperatorConsole() {
  }

  public static void mount(Router router) {
    router.getWithRegex("/console").handler(ctx -> ctx.redirect("/console/"));
    router.get("/console/*").handler(ctx -> {
      ctx.response()
        .putHeader("content-security-policy", CONTENT_SECURITY_POLICY)
        .putHeader("x-frame-options", "DENY")
        .putHeader("x-content-type-options", "nosniff")
        .putHeader("referrer-policy", "no-referrer")
        .putHeader("cross-origin-opener-policy", "same-origin")
        .putHeader("cross-origin-resource-policy", "same-origin")
        .putHeader("cache-control", "no-store");
      ctx.next();
    }).handler(StaticHandler.create("console").setIndexPage("index.html").setCachingEnabled(false));
  }
}
