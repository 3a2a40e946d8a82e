package io.switchboard.simulator;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Deterministic values for a JSON schema (a function's {@code parameters}, a {@code json_schema} response format):
 * the required properties (or, when none is required, the first one) filled in, strings with the prompt's text,
 * numbers with 1, booleans with true, enums with their first value.
 */
final class Schemas {
  private static final int MAX_DEPTH = 8;

  private Schemas() {
  }

  static JsonObject fill(JsonObject schema, String text) {
    return fill(schema, text, 0);
  }

  private static JsonObject fill(JsonObject schema, String text, int depth) {
    JsonObject out = new JsonObject();
    if (schema == null || !(schema.getValue("properties") instanceof JsonObject properties) || properties.isEmpty()) {
      return out;
    }
    if (schema.getValue("required") instanceof JsonArray required && !required.isEmpty()) {
      for (Object name : required) {
        if (name instanceof String n && properties.containsKey(n)) {
          out.put(n, value(properties.getValue(n), text, depth + 1));
        }
      }
      if (!out.isEmpty()) {
        return out;
      }
    }
    String first = properties.fieldNames().iterator().next();
    return out.put(first, value(properties.getValue(first), text, depth + 1));
  }

  private static Object value(Object schemaValue, String text, int depth) {
    if (!(schemaValue instanceof JsonObject schema) || depth > MAX_DEPTH) {
      return text;
    }
    if (schema.containsKey("const")) {
      return schema.getValue("const");
    }
    if (schema.getValue("enum") instanceof JsonArray values && !values.isEmpty()) {
      return values.getValue(0);
    }
    Object type = schema.getValue("type");
    if (type instanceof JsonArray types) {
      type = null;
      for (Object t : types) {
        if (!"null".equals(t)) {
          type = t;
          break;
        }
      }
    }
    if (type == null) {
      if (schema.getValue("anyOf") instanceof JsonArray any && !any.isEmpty()) {
        return value(any.getValue(0), text, depth + 1);
      }
      return schema.containsKey("properties") ? fill(schema, text, depth) : text;
    }
    return switch (String.valueOf(type)) {
      case "integer", "number" -> 1;
      case "boolean" -> true;
      case "object" -> fill(schema, text, depth);
      case "array" -> new JsonArray().add(value(schema.getValue("items"), text, depth + 1));
      case "null" -> null;
      default -> text;
    };
  }
}
