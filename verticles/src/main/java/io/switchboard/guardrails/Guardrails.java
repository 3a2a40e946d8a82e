package io.switchboard.guardrails;

import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatMessage;
import io.switchboard.bus.ChatResult;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The guardrail policies of a turn, by its tenant ({@code tenants[].guardrails}) and model
 * ({@code routes[].guardrails}): on the way in, the client's new messages (redacted before they go upstream or
 * into memory, or the turn refused); on the way out, a whole answer, or a stream through a {@link StreamGuard}.
 * Decisions are counted per policy, action and stage, and logged by policy name only, never with what matched.
 * One per chat pipeline, used on its event loop.
 */
public final class Guardrails {
  private static final Logger LOG = LoggerFactory.getLogger(Guardrails.class);
  public static final String INPUT = "input";
  public static final String OUTPUT = "output";
  /** The error code of a turn a guardrail refused, as OpenAI names it. */
  public static final String VIOLATION = "content_policy_violation";

  private final SwitchboardConfig config;
  private final Map<String, Policy> policies = new LinkedHashMap<>();
  /** stage → tenant → model → the policies, worked out once per combination. */
  private final Map<String, Map<String, Map<String, List<Policy>>>> byTurn = new HashMap<>();
  private final Moderator moderator;
  private final MeterRegistry registry;

  public Guardrails(Vertx vertx, MeterRegistry registry, SwitchboardConfig config) {
    this(registry, config, null, new Moderator(vertx));
  }

  /** @param kept the policies already built, when {@code config}'s are the same; null to build them */
  private Guardrails(MeterRegistry registry, SwitchboardConfig config, Map<String, Policy> kept, Moderator moderator) {
    this.config = config;
    this.registry = registry;
    if (kept != null) {
      policies.putAll(kept);
    } else {
      config.guardrails().policies().forEach(p -> policies.put(p.name(), new Policy(p, registry)));
    }
    this.moderator = moderator;
  }

  /**
   * These guardrails on a changed configuration (a reload, a weight set): its routes' and tenants' choices anew, the
   * moderation client kept; the policies (word automata) built again only when the policies changed (a reload that
   * read a word list anew); this one when the configuration is the one they were built on. Turns that started on
   * the old ones finish on them.
   */
  public Guardrails on(SwitchboardConfig next) {
    if (next == config) {
      return this;
    }
    boolean same = next.guardrails().policies().equals(config.guardrails().policies());
    return new Guardrails(registry, next, same ? policies : null, moderator);
  }

  /** The error a refused turn gets: 400 in OpenAI's shape, naming the policy (never what matched). */
  public static ApiError violation(String policy, String stage) {
    return new ApiError(400, "invalid_request_error", VIOLATION, (stage.equals(INPUT) ? "The request was"
      : "The answer was") + " blocked by the content policy '" + policy + "'.", stage.equals(INPUT) ? "messages" : null);
  }

  public static boolean isViolation(ApiError error) {
    return VIOLATION.equals(error.code());
  }

  /** The policies of a tenant's turn on a model: the route's, then the tenant's, each once. */
  private List<Policy> of(String tenant, String model, String stage) {
    if (policies.isEmpty()) {
      return List.of();
    }
    Map<String, List<Policy>> byModel = byTurn.computeIfAbsent(stage, k -> new HashMap<>())
      .computeIfAbsent(tenant, k -> new HashMap<>());
    // a model without a route has none of its own: one entry for them all, however many names clients send
    String key = config.routes().containsKey(model) ? model : "";
    List<Policy> found = byModel.get(key);
    if (found == null) {
      List<String> names = new ArrayList<>(config.route(model).guardrails());
      config.guardrails().byTenant().getOrDefault(tenant, List.of()).forEach(name -> {
        if (!names.contains(name)) {
          names.add(name);
        }
      });
      found = names.stream().map(policies::get).filter(p -> p.config.checks(stage)).toList();
      byModel.put(key, found);
    }
    return found;
  }

  /**
   * The client's new messages as they may go upstream: unchanged, redacted, or a failed future with the
   * {@link #violation}. Moderation, when a policy asks for it, vets them after the word and PII checks.
   */
  public Future<List<ChatMessage>> input(String requestId, String tenant, String model, List<ChatMessage> messages) {
    List<Policy> checks = of(tenant, model, INPUT);
    if (checks.isEmpty()) {
      return Future.succeededFuture(messages);
    }
    List<ChatMessage> checked = new ArrayList<>(messages.size());
    try {
      Decisions decisions = new Decisions(requestId, INPUT);
      for (ChatMessage message : messages) {
        checked.add(message(message, checks, decisions));
      }
    } catch (Blocked blocked) {
      return Future.failedFuture(violation(blocked.policy, INPUT).toException());
    }
    StringBuilder all = new StringBuilder();
    checked.forEach(m -> all.append(m.text()).append('\n'));
    return moderated(requestId, tenant, checks, all.toString(), INPUT).map(checked);
  }

  /** A whole answer as the client may get it: unchanged, redacted (message and completion alike), or refused. */
  public Future<ChatResult> output(String requestId, String tenant, String model, ChatResult result) {
    List<Policy> checks = of(tenant, model, OUTPUT);
    if (checks.isEmpty()) {
      return Future.succeededFuture(result);
    }
    String content = result.content();
    String text;
    try {
      text = text(content, checks, new Decisions(requestId, OUTPUT));
    } catch (Blocked blocked) {
      return Future.failedFuture(violation(blocked.policy, OUTPUT).toException());
    }
    ChatResult answer = text.equals(content) ? result : redacted(result, text);
    return moderated(requestId, tenant, checks, text, OUTPUT).map(answer);
  }

  /** The filter a streamed answer goes through; null when no policy checks this turn's output. */
  public StreamGuard stream(String requestId, String tenant, String model) {
    List<Policy> checks = of(tenant, model, OUTPUT);
    return checks.isEmpty() ? null : new StreamGuard(checks, new Decisions(requestId, OUTPUT),
      text -> moderated(requestId, tenant, checks, text, OUTPUT));
  }

  /** Each moderation policy in turn; a flagged text is refused (block) or counted (flag). */
  private Future<Void> moderated(String requestId, String tenant, List<Policy> checks, String text, String stage) {
    Future<Void> done = Future.succeededFuture();
    for (Policy policy : checks) {
      if (policy.moderation() && !text.isBlank()) {
        done = done.compose(v -> moderator.flagged(policy, requestId, tenant, text)
          .recover(failure -> {
            boolean block = policy.config.onError().equals("block");
            policy.count(stage, block ? Policy.ERROR_BLOCKED : Policy.ERROR_ALLOWED);
            LOG.warn("request {}: guardrail {} could not get a verdict ({}), {} the {}", requestId, policy.name(),
              ApiError.from(failure).message(), block ? "blocking" : "allowing", stage);
            return Future.succeededFuture(block);
          })
          .compose(flagged -> {
            if (!flagged) {
              return Future.succeededFuture();
            }
            new Decisions(requestId, stage).decide(policy);
            return policy.blocks() ? Future.failedFuture(violation(policy.name(), stage).toException())
              : Future.succeededFuture();
          }));
      }
    }
    return done;
  }

  private static ChatMessage message(ChatMessage message, List<Policy> checks, Decisions decisions) {
    Object content = message.json().getValue("content");
    if (content instanceof String text) {
      String checked = text(text, checks, decisions);
      return checked.equals(text) ? message : message.with("content", checked);
    }
    if (content instanceof JsonArray parts) {
      JsonArray checkedParts = null;
      for (int i = 0; i < parts.size(); i++) {
        if (parts.getValue(i) instanceof JsonObject part && "text".equals(part.getValue("type"))
          && part.getValue("text") instanceof String text) {
          String checked = text(text, checks, decisions);
          if (!checked.equals(text)) {
            checkedParts = checkedParts == null ? parts.copy() : checkedParts;
            checkedParts.set(i, part.copy().put("text", checked));
          }
        }
      }
      return checkedParts == null ? message : message.with("content", checkedParts);
    }
    return message;
  }

  /** The text after each word and PII policy in turn; {@link Blocked} when one blocks it. */
  static String text(String text, List<Policy> checks, Decisions decisions) {
    for (Policy policy : checks) {
      if (policy.moderation() || text.isEmpty()) {
        continue;
      }
      NormalizedText normalized = NormalizedText.of(text);
      List<Detector.Hit> hits = policy.hits(normalized, true);
      if (!hits.isEmpty()) {
        decisions.decide(policy);
        if (policy.blocks()) {
          throw new Blocked(policy.name());
        }
        if (policy.redacts()) {
          text = Policy.redacted(text, normalized, hits);
        }
      }
    }
    return text;
  }

  /** The result with its content redacted, in the message memory keeps and in the completion the client gets. */
  private static ChatResult redacted(ChatResult result, String text) {
    JsonObject message = result.message().copy().put("content", text);
    io.vertx.core.buffer.Buffer completion = result.completion();
    if (completion != null) {
      JsonObject whole = completion.toJsonObject();
      JsonArray choices = whole.getJsonArray("choices");
      if (choices != null && !choices.isEmpty() && choices.getValue(0) instanceof JsonObject first
        && first.getValue("message") instanceof JsonObject answer) {
        answer.put("content", text);
        completion = whole.toBuffer();
      }
    }
    return new ChatResult(result.requestId(), completion, message, result.finishReason(), result.usage(),
      result.chunks(), result.deployment(), result.firstTokenMillis());
  }

  /** A policy that blocked, by name (what matched is not carried). */
  static final class Blocked extends RuntimeException {
    final String policy;

    Blocked(String policy) {
      super(policy, null, false, false);
      this.policy = policy;
    }
  }

  /** The decisions of one turn at one stage: each policy counted and logged once, however often it matched. */
  static final class Decisions {
    private final String requestId;
    private final String stage;
    private final List<Policy> decided = new ArrayList<>(1);

    Decisions(String requestId, String stage) {
      this.requestId = requestId;
      this.stage = stage;
    }

    void decide(Policy policy) {
      if (decided.contains(policy)) {
        return;
      }
      decided.add(policy);
      policy.count(stage, policy.config.action());
      if (policy.blocks()) {
        LOG.info("request {}: guardrail {} ({}) blocked the {}", requestId, policy.name(), policy.config.type(), stage);
      } else {
        // redactions are routine (a phone number in a question): counted, and logged only when asked for
        LOG.debug("request {}: guardrail {} ({}) matched the {}: {}", requestId, policy.name(), policy.config.type(),
          stage, policy.config.action());
      }
    }
  }
}
