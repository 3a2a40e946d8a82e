package io.switchboard.routing;

import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.RoutedRequest;
import io.switchboard.config.SwitchboardConfig.RouteRule;
import io.switchboard.governance.Governance;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A route's {@code rules}: which of a model's deployments may serve a turn by what it needs — a long prompt, an
 * image, tools, a tenant or a request header with a pool of its own. The first rule the turn meets names the deployments; the strategy
 * then chooses among them. A turn that meets no rule may go to any deployment.
 */
final class RouteRules {
  private final List<RouteRule> rules;
  /** Per rule: the model's deployments it leaves out. */
  private final List<Set<String>> leftOut;

  RouteRules(List<RouteRule> rules, List<DeploymentState> states) {
    this.rules = List.copyOf(rules);
    this.leftOut = rules.stream().map(rule -> {
      Set<String> out = new HashSet<>();
      states.forEach(state -> out.add(state.deployment.id()));
      out.removeAll(rule.deployments());
      return Set.copyOf(out);
    }).toList();
  }

  /** The deployments this turn may not go to (empty when no rule applies). */
  Set<String> leftOut(RoutedRequest request) {
    if (rules.isEmpty() || !(request instanceof ChatRequest chat)) {
      return Set.of();
    }
    long tokens = -1;
    for (int i = 0; i < rules.size(); i++) {
      RouteRule rule = rules.get(i);
      if (rule.promptTokensOver() >= 0) {
        tokens = tokens < 0 ? Governance.promptTokens(chat.messages()) : tokens;
        if (tokens <= rule.promptTokensOver()) {
          continue;
        }
      }
      if (rule.images() != null && rule.images() != hasImage(chat.messages())
        || rule.tools() != null && rule.tools() != offersTools(chat.options())
        || !rule.tenants().isEmpty() && !rule.tenants().contains(chat.tenant())
        || !headersMatch(rule, chat.routeHeaders())) {
        continue;
      }
      return leftOut.get(i);
    }
    return Set.of();
  }

  private static boolean headersMatch(RouteRule rule, JsonObject headers) {
    for (var header : rule.headers().entrySet()) {
      if (headers == null || !header.getValue().equals(headers.getString(header.getKey()))) {
        return false;
      }
    }
    return true;
  }

  private static boolean hasImage(List<ChatMessage> messages) {
    for (ChatMessage message : messages) {
      JsonArray parts = message.parts();
      if (parts != null) {
        for (Object part : parts) {
          if (part instanceof JsonObject json && ("image_url".equals(json.getString("type"))
            || "input_image".equals(json.getString("type")))) {
            return true;
          }
        }
      }
    }
    return false;
  }

  private static boolean offersTools(JsonObject options) {
    return options != null && (options.getValue("tools") instanceof JsonArray tools && !tools.isEmpty()
      || options.getValue("functions") instanceof JsonArray functions && !functions.isEmpty());
  }
}
