package io.switchboard.governance;

import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * What a call cost in USD: the tokens of OpenAI's usage object at a deployment's prices per million tokens — its
 * {@code price:} in the config, else the bundled table's price of its upstream model ({@code governance/prices.json}),
 * else nothing (0). Prompt tokens the provider read from its prompt cache ({@code prompt_tokens_details.cached_tokens},
 * counted inside {@code prompt_tokens}) are charged at the cached-input price; reasoning tokens are inside
 * {@code completion_tokens} and charged as output. Immutable apart from a memo of table look-ups; thread-safe.
 */
public final class Prices {
  private static final Pattern DATED = Pattern.compile("[-@](\\d{4}-\\d{2}-\\d{2}|\\d{8}|latest)$");
  private static final Map<String, SwitchboardConfig.Price> TABLE = load();
  private static final SwitchboardConfig.Price NONE = new SwitchboardConfig.Price(0, 0, 0);

  /** deployment id → its {@code price:}; swapped whole by a reload */
  private volatile Map<String, SwitchboardConfig.Price> configured;
  /** deployment id → the provider's model name; swapped whole by a reload */
  private volatile Map<String, String> upstreamModels;
  private final Map<String, SwitchboardConfig.Price> looked = new ConcurrentHashMap<>();

  public Prices(SwitchboardConfig config) {
    apply(config);
  }

  /** The deployments' prices of a reloaded configuration, for the turns that end from now on. */
  public void apply(SwitchboardConfig config) {
    Map<String, SwitchboardConfig.Price> prices = new HashMap<>();
    Map<String, String> models = new HashMap<>();
    for (SwitchboardConfig.Deployment deployment : config.deployments()) {
      if (deployment.price() != null) {
        prices.put(deployment.id(), deployment.price());
      }
      models.put(deployment.id(), deployment.upstreamModel());
    }
    configured = prices;
    upstreamModels = models;
  }

  /**
   * USD for one call.
   *
   * @param deployment    the deployment that answered (its {@code price:} wins); null or unknown = by model only
   * @param upstreamModel the provider's model name, for the bundled table; null = the deployment's own
   * @param usage         OpenAI's usage object; null = nothing was used
   */
  public double costUsd(String deployment, String upstreamModel, JsonObject usage) {
    if (usage == null) {
      return 0;
    }
    return cost(price(deployment, upstreamModel), usage);
  }

  /** The prices that apply to a deployment's calls; all zero when neither the config nor the table knows them. */
  public SwitchboardConfig.Price price(String deployment, String upstreamModel) {
    SwitchboardConfig.Price price = deployment == null ? null : configured.get(deployment);
    if (price != null) {
      return price;
    }
    String model = upstreamModel != null ? upstreamModel : deployment == null ? null : upstreamModels.get(deployment);
    if (model == null) {
      return NONE;
    }
    return looked.computeIfAbsent(model, m -> {
      SwitchboardConfig.Price found = bundled(m);
      return found == null ? NONE : found;
    });
  }

  static double cost(SwitchboardConfig.Price price, JsonObject usage) {
    long prompt = count(usage, "prompt_tokens");
    long completion = count(usage, "completion_tokens");
    JsonObject details = usage.getValue("prompt_tokens_details") instanceof JsonObject d ? d : null;
    long cached = Math.min(prompt, details == null ? 0 : count(details, "cached_tokens"));
    return ((prompt - cached) * price.inputPerMillion() + cached * price.cachedInputPerMillion()
      + completion * price.outputPerMillion()) / 1_000_000d;
  }

  /**
   * The bundled table's price of a provider's model name: exactly, then without a dated suffix ({@code -2024-08-06},
   * {@code -20241022}, {@code @20240620}, {@code -latest}) or a provider prefix ({@code openai/}), then the longest
   * listed name followed by {@code -} in it ({@code gemini-2.5-flash-preview-05-20} is {@code gemini-2.5-flash}).
   * Null when none.
   */
  public static SwitchboardConfig.Price bundled(String upstreamModel) {
    String name = upstreamModel.toLowerCase();
    int slash = name.lastIndexOf('/');
    if (slash >= 0) {
      name = name.substring(slash + 1);
    }
    SwitchboardConfig.Price exact = TABLE.get(name);
    if (exact != null) {
      return exact;
    }
    String base = DATED.matcher(name).replaceFirst("");
    exact = TABLE.get(base);
    if (exact != null) {
      return exact;
    }
    String best = null;
    for (String listed : TABLE.keySet()) {
      if (base.length() > listed.length() && base.startsWith(listed) && base.charAt(listed.length()) == '-'
        && (best == null || listed.length() > best.length())) {
        best = listed;
      }
    }
    return best == null ? null : TABLE.get(best);
  }

  private static long count(JsonObject object, String field) {
    return object.getValue(field) instanceof Number n ? Math.max(0, n.longValue()) : 0;
  }

  private static Map<String, SwitchboardConfig.Price> load() {
    try (InputStream in = Prices.class.getResourceAsStream("/governance/prices.json")) {
      if (in == null) {
        throw new IllegalStateException("governance/prices.json is missing from the class path");
      }
      JsonObject models = new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8))
        .getJsonObject("models");
      Map<String, SwitchboardConfig.Price> table = new HashMap<>();
      for (String model : models.fieldNames()) {
        JsonObject p = models.getJsonObject(model);
        double input = p.getDouble("input");
        table.put(model, new SwitchboardConfig.Price(input, p.getDouble("output"), p.getDouble("cached_input", input)));
      }
      return Map.copyOf(table);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
