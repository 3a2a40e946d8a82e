package io.switchboard.simulator;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static io.switchboard.simulator.SimulatorError.invalidType;
import static io.switchboard.simulator.SimulatorError.missing;

/**
 * {@code POST /v1/moderations}: OpenAI's moderation object, one result per input, flagged (as harassment) exactly
 * when the input holds one of the configured words, so tests and demos know the verdict in advance.
 */
final class Moderations {
  static final String MODEL = "switchboard-simulator-moderation";
  static final String DEFAULT_WORD = "simulated-violation";
  private static final List<String> CATEGORIES = List.of("harassment", "harassment/threatening", "hate",
    "hate/threatening", "illicit", "illicit/violent", "self-harm", "self-harm/instructions", "self-harm/intent",
    "sexual", "sexual/minors", "violence", "violence/graphic");

  private final List<String> words;

  Moderations(List<String> words) {
    this.words = words.stream().map(w -> w.toLowerCase(Locale.ROOT)).toList();
  }

  /** The response body; an input OpenAI would refuse throws {@link SimulatorError}. */
  String respond(JsonObject request) {
    Object model = request.getValue("model");
    if (model != null && !(model instanceof String)) {
      throw invalidType("model", "a string", model);
    }
    JsonArray results = new JsonArray();
    for (String text : inputs(request.getValue("input"))) {
      boolean flagged = words.stream().anyMatch(text.toLowerCase(Locale.ROOT)::contains);
      JsonObject categories = new JsonObject();
      JsonObject scores = new JsonObject();
      JsonObject types = new JsonObject();
      for (String category : CATEGORIES) {
        boolean hit = flagged && category.equals("harassment");
        categories.put(category, hit);
        scores.put(category, hit ? 0.97 : 0.0001);
        types.put(category, new JsonArray().add("text"));
      }
      results.add(new JsonObject().put("flagged", flagged).put("categories", categories)
        .put("category_scores", scores).put("category_applied_input_types", types));
    }
    return new JsonObject().put("id", "modr-" + Long.toHexString(Tokens.hash(request.encode())))
      .put("model", model == null ? MODEL : model).put("results", results).encode();
  }

  /** A string, an array of strings, or an array of content parts (text parts read, image parts skipped). */
  private static List<String> inputs(Object input) {
    if (input == null) {
      throw missing("input");
    }
    if (input instanceof String text) {
      return List.of(text);
    }
    if (!(input instanceof JsonArray array)) {
      throw invalidType("input", "a string or an array", input);
    }
    List<String> texts = new ArrayList<>();
    StringBuilder parts = new StringBuilder();
    boolean sawParts = false;
    for (Object item : array) {
      if (item instanceof String text) {
        texts.add(text);
      } else if (item instanceof JsonObject part) {
        sawParts = true;
        if ("text".equals(part.getValue("type")) && part.getValue("text") instanceof String text) {
          parts.append(text).append('\n');
        }
      } else {
        throw invalidType("input", "strings or content parts", item);
      }
    }
    if (sawParts) {
      texts.add(parts.toString());
    }
    return texts;
  }
}
