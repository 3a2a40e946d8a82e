package io.switchboard.connection;

import io.switchboard.bus.ApiError;
import io.switchboard.config.LiveConfig;
import io.switchboard.config.SwitchboardConfig;

import java.util.Set;
import java.util.stream.Collectors;

/**
 * What this node's configuration says about every chat turn before it starts, on every channel: which public models
 * are served (a turn for another is refused before anything is shown to the client).
 */
final class ChatRules {

  private final LiveConfig live;
  /** The served models of the configuration last seen: worked out again only when a reload swapped it. */
  private SwitchboardConfig seen;
  private Set<String> models;

  ChatRules(LiveConfig live) {
    this.live = live;
  }

  /** The 404 for a model no deployment serves (which cuts the echoed name, see {@link ApiError#modelNotFound}), or null. */
  ApiError refusal(String model) {
    SwitchboardConfig now = live.get();
    if (now != seen) {
      models = now.deployments().stream().map(SwitchboardConfig.Deployment::modelName)
        .collect(Collectors.toUnmodifiableSet());
      seen = now;
    }
    return models.contains(model) ? null : ApiError.modelNotFound(model);
  }

  /** A client-sent model name as errors and logs may show it. */
  static String echoed(String model) {
    return HttpGuards.bounded(model, ApiError.MAX_ECHOED_MODEL_CHARS);
  }

}
