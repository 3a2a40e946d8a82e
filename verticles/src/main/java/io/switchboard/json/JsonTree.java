package io.switchboard.json;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Vert.x JSON value read from a streaming parser where it stands, as {@code new JsonObject(bytes)} would have made
 * it (nested objects as maps, arrays as lists, numbers as Jackson reads them), without a second parser or a copy of
 * the bytes: for the few values a walk over an upstream's answer keeps (a message, the usage). Nesting is bounded by
 * the parser's own read constraints.
 */
public final class JsonTree {
  private JsonTree() {
  }

  /** The object the parser stands on (its START_OBJECT); the parser is left on its END_OBJECT. */
  public static JsonObject object(JsonParser json) throws IOException {
    return new JsonObject(fields(json));
  }

  private static Map<String, Object> fields(JsonParser json) throws IOException {
    Map<String, Object> fields = new LinkedHashMap<>();
    for (String name = json.nextFieldName(); name != null; name = json.nextFieldName()) {
      fields.put(name, value(json, json.nextToken()));
    }
    return fields;
  }

  private static Object value(JsonParser json, JsonToken token) throws IOException {
    return switch (token) {
      case START_OBJECT -> fields(json);
      case START_ARRAY -> elements(json);
      case VALUE_STRING -> json.getText();
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> json.getNumberValue();
      case VALUE_TRUE -> Boolean.TRUE;
      case VALUE_FALSE -> Boolean.FALSE;
      case VALUE_NULL -> null;
      default -> throw new IOException("unexpected " + token);
    };
  }

  private static List<Object> elements(JsonParser json) throws IOException {
    List<Object> elements = new ArrayList<>();
    for (JsonToken token = json.nextToken(); token != JsonToken.END_ARRAY; token = json.nextToken()) {
      if (token == null) {
        throw new IOException("unexpected end of input");
      }
      elements.add(value(json, token));
    }
    return elements;
  }
}
