package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.config.LiveConfig;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;

import java.util.Set;
import java.util.stream.Collectors;

/**
 * What this node's configuration says about every chat turn before it starts, on every channel: which public models
 * are served (a turn for another is refused before anything is shown to the client), and which request headers route
 * rules match on.
 */
final class ChatRules {

  private final LiveConfig live;
  /** The configuration last seen, and what it says: worked out again only when a reload swapped it. */
  private SwitchboardConfig seen;
  private Set<String> models;
  /** Request headers route rules match on: handed to routing, and nothing else of the headers. */
  private Set<String> routeHeaders;

  ChatRules(LiveConfig live) {
    this.live = live;
  }

  /** The 404 for a model no deployment serves (which cuts the echoed name, see {@link ApiError#modelNotFound}), or null. */
  ApiError refusal(String model) {
    refresh();
    return models.contains(model) ? null : ApiError.modelNotFound(model);
  }

  private void refresh() {
    SwitchboardConfig now = live.get();
    if (now != seen) {
      models = now.deployments().stream().map(SwitchboardConfig.Deployment::modelName)
        .collect(Collectors.toUnmodifiableSet());
      routeHeaders = now.routeHeaders();
      seen = now;
    }
  }

  /** The request's headers that route rules match on; null when no rule matches a header (the usual case). */
  JsonObject routeHeaders(HttpServerRequest request) {
    refresh();
    if (routeHeaders.isEmpty()) {
      return null;
    }
    JsonObject values = new JsonObject();
    for (String name : routeHeaders) {
      String value = request.getHeader(name);
      if (value != null) {
        values.put(name, value);
      }
    }
    return values;
  }

  /** A client-sent model name as errors and logs may show it. */
  static String echoed(String model) {
    return HttpGuards.bounded(model, ApiError.MAX_ECHOED_MODEL_CHARS);
  }

}
