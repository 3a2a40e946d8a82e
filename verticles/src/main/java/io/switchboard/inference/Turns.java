package io.switchboard.inference;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * A conversation as the translated providers (Anthropic, Bedrock, Gemini) want it: turns of content blocks, one
 * side's consecutive messages (a tool result after another, the user's next words after tool results) sharing one
 * turn, and no empty turns. Each provider names its roles and writes the turns out in its own shape.
 */
final class Turns {
  /** One side's turn: its role and its blocks, in order. */
  record Turn(String role, JsonArray blocks) {
  }

  private final List<Turn> turns = new ArrayList<>();

  void add(String role, JsonArray blocks) {
    if (blocks.isEmpty()) {
      return; // the providers refuse empty turns
    }
    Turn last = last();
    if (last != null && last.role().equals(role)) {
      last.blocks().addAll(blocks);
    } else {
      turns.add(new Turn(role, blocks));
    }
  }

  /** OpenAI lets the assistant speak first (a greeting); a provider that wants the user first gets {@code opening}. */
  void openWithUser(JsonObject opening) {
    if (!turns.isEmpty() && turns.get(0).role().equals("assistant")) {
      turns.add(0, new Turn("user", new JsonArray().add(opening)));
    }
  }

  /** The last turn; null when there is none. */
  Turn last() {
    return turns.isEmpty() ? null : turns.get(turns.size() - 1);
  }

  List<Turn> list() {
    return turns;
  }

  /** The turns as {@code [{role, <blocksField>: [...]}, ...]}. */
  JsonArray toJson(String blocksField) {
    JsonArray json = new JsonArray();
    turns.forEach(turn -> json.add(new JsonObject().put("role", turn.role()).put(blocksField, turn.blocks())));
    return json;
  }
}
