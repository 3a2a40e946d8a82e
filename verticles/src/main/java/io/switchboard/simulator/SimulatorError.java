package io.switchboard.simulator;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * A request the simulator refuses the way OpenAI does: HTTP 400 and
 * {@code {"error":{"message":...,"type":"invalid_request_error","param":...,"code":...}}}.
 */
final class SimulatorError extends RuntimeException {
  final int status;
  final String type;
  final String param;
  final String code;

  SimulatorError(String message, String param, String code) {
    this(400, "invalid_request_error", message, param, code);
  }

  SimulatorError(int status, String type, String message, String param, String code) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }

  String toJson() {
    return new JsonObject().put("error", new JsonObject().put("message", getMessage()).put("type", type)
      .put("param", param).put("code", code)).encode();
  }

  static SimulatorError missing(String param) {
    return new SimulatorError("Missing required parameter: '" + param + "'.", param, "missing_required_parameter");
  }

  static SimulatorError invalidType(String param, String expected, Object got) {
    return new SimulatorError("Invalid type for '" + param + "': expected " + expected + ", but got " + typeOf(got)
      + " instead.", param, "invalid_type");
  }

  /** OpenAI's wording: {@code Invalid value: 'x'. Supported values are: 'a', 'b', and 'c'.} */
  static SimulatorError invalidValue(String param, Object got, List<String> supported) {
    StringBuilder list = new StringBuilder();
    for (int i = 0; i < supported.size(); i++) {
      if (i > 0) {
        list.append(supported.size() == 2 ? " and " : i == supported.size() - 1 ? ", and " : ", ");
      }
      list.append('\'').append(supported.get(i)).append('\'');
    }
    return new SimulatorError("Invalid value: '" + got + "'. Supported values are: " + list + ".", param,
      "invalid_value");
  }

  static String typeOf(Object value) {
    if (value == null) {
      return "null";
    } else if (value instanceof String) {
      return "a string";
    } else if (value instanceof Integer || value instanceof Long) {
      return "an integer";
    } else if (value instanceof Number) {
      return "a decimal";
    } else if (value instanceof Boolean) {
      return "a boolean";
    } else if (value instanceof JsonArray) {
      return "an array";
    } else {
      return "an object";
    }
  }
}
