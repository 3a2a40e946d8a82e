package io.switchboard.simulator;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.switchboard.simulator.SimulatorError.invalidType;
import static io.switchboard.simulator.SimulatorError.invalidValue;
import static io.switchboard.simulator.SimulatorError.missing;

/**
 * What a chat completions request asks of the simulator, read and checked the way OpenAI checks it: the
 * messages (content as a string or as parts, tool rounds complete), tools and tool_choice, response_format,
 * max_tokens, logprobs and streaming. A request OpenAI would refuse is refused with a {@link SimulatorError}.
 */
record ChatTurn(List<Message> messages, JsonObject function, JsonObject responseFormat, int maxTokens,
                boolean logprobs, int topLogprobs, boolean stream, boolean includeUsage, int promptTokens) {

  /**
   * One message as the simulator reads it.
   *
   * @param text  its text: the string content, or its text (and refusal) parts joined
   * @param image whether it carries an {@code image_url} part
   */
  record Message(String role, String text, boolean image) {
  }

  private static final List<String> ROLES = List.of("system", "assistant", "user", "function", "tool", "developer");
  private static final Map<String, List<String>> PART_TYPES = Map.of(
    "user", List.of("text", "image_url", "input_audio", "file"),
    "assistant", List.of("text", "refusal"),
    "system", List.of("text"),
    "developer", List.of("text"),
    "tool", List.of("text"),
    "function", List.of("text"));
  private static final List<String> AUDIO_FORMATS = List.of("wav", "mp3");
  private static final List<String> TOOL_CHOICES = List.of("none", "auto", "required");
  private static final List<String> TOOL_TYPES = List.of("function", "custom");
  private static final List<String> FORMATS = List.of("text", "json_object", "json_schema");
  static final int MAX_TOP_LOGPROBS = 20;

  /** No max_tokens given. */
  static final int UNLIMITED = Integer.MAX_VALUE;

  /**
   * Reads a request.
   *
   * @param toolsEnabled the {@code tools} knob: when false, offered tools are checked but never called
   */
  static ChatTurn read(JsonObject request, boolean toolsEnabled) {
    Object messagesValue = request.getValue("messages");
    List<Message> messages = messages(messagesValue);
    JsonObject function = function(request);
    JsonObject format = responseFormat(request.getValue("response_format"));
    int max = maxTokens(request);
    Object lp = request.getValue("logprobs");
    if (lp != null && !(lp instanceof Boolean)) {
      throw invalidType("logprobs", "a boolean", lp);
    }
    boolean logprobs = Boolean.TRUE.equals(lp);
    Object top = request.getValue("top_logprobs");
    int topLogprobs = 0;
    if (top != null) {
      if (!(top instanceof Integer t)) {
        throw invalidType("top_logprobs", "an integer", top);
      }
      if (t < 0 || t > MAX_TOP_LOGPROBS) {
        throw new SimulatorError("Invalid 'top_logprobs': integer " + (t < 0 ? "below minimum" : "above maximum")
          + " value. Expected a value " + (t < 0 ? ">= 0" : "<= " + MAX_TOP_LOGPROBS) + ", but got " + t
          + " instead.", "top_logprobs", t < 0 ? "integer_below_min_value" : "integer_above_max_value");
      }
      if (!logprobs) {
        throw new SimulatorError("Invalid value for 'top_logprobs': 'logprobs' must be set to true when "
          + "'top_logprobs' is used.", "top_logprobs", null);
      }
      topLogprobs = t;
    }
    Object streamValue = request.getValue("stream");
    if (streamValue != null && !(streamValue instanceof Boolean)) {
      throw invalidType("stream", "a boolean", streamValue);
    }
    boolean stream = Boolean.TRUE.equals(streamValue);
    Object options = request.getValue("stream_options");
    boolean includeUsage = false;
    if (options != null) {
      if (!stream) {
        throw new SimulatorError("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
          "stream_options", null);
      }
      if (!(options instanceof JsonObject o)) {
        throw invalidType("stream_options", "an object", options);
      }
      includeUsage = Boolean.TRUE.equals(o.getValue("include_usage"));
    }
    int promptTokens = Math.max(1, ((JsonArray) messagesValue).encode().length() / 4);
    if (request.getValue("tools") instanceof JsonArray tools) {
      promptTokens += tools.encode().length() / 4;
    }
    return new ChatTurn(messages, toolsEnabled ? function : null, format, max, logprobs, topLogprobs, stream,
      includeUsage, promptTokens);
  }

  /** The function tool_choice picks (the named one, else the first function tool); null for none. */
  private static JsonObject function(JsonObject request) {
    Object toolsValue = request.getValue("tools");
    Object choice = request.getValue("tool_choice");
    if (toolsValue == null) {
      if (choice != null) {
        throw new SimulatorError("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
          + "specified.", "tool_choice", null);
      }
      return null;
    }
    if (!(toolsValue instanceof JsonArray tools)) {
      throw invalidType("tools", "an array", toolsValue);
    }
    if (tools.isEmpty()) {
      throw new SimulatorError("Invalid 'tools': empty array. Expected an array with minimum length 1, but got an "
        + "empty array instead.", "tools", "empty_array");
    }
    List<JsonObject> functions = new ArrayList<>();
    for (int k = 0; k < tools.size(); k++) {
      String at = "tools[" + k + "]";
      if (!(tools.getValue(k) instanceof JsonObject tool)) {
        throw invalidType(at, "an object", tools.getValue(k));
      }
      Object type = tool.getValue("type");
      if (type == null) {
        throw missing(at + ".type");
      }
      if (!TOOL_TYPES.contains(type)) {
        throw invalidValue(at + ".type", type, TOOL_TYPES);
      }
      Object body = tool.getValue((String) type);
      if (!(body instanceof JsonObject definition)) {
        throw body == null ? missing(at + "." + type) : invalidType(at + "." + type, "an object", body);
      }
      Object name = definition.getValue("name");
      if (!(name instanceof String)) {
        throw name == null ? missing(at + "." + type + ".name") : invalidType(at + "." + type + ".name", "a string", name);
      }
      Object parameters = definition.getValue("parameters");
      if (parameters != null && !(parameters instanceof JsonObject)) {
        throw invalidType(at + ".function.parameters", "an object", parameters);
      }
      if (type.equals("function")) {
        functions.add(definition);
      }
    }
    if (choice == null || choice.equals("auto") || choice.equals("required")) {
      return functions.isEmpty() ? null : functions.get(0);
    }
    if (choice.equals("none")) {
      return null;
    }
    if (choice instanceof String) {
      throw invalidValue("tool_choice", choice, TOOL_CHOICES);
    }
    if (!(choice instanceof JsonObject named)) {
      throw invalidType("tool_choice", "a string or an object", choice);
    }
    if (!"function".equals(named.getValue("type"))) {
      throw named.getValue("type") == null ? missing("tool_choice.type")
        : invalidValue("tool_choice.type", named.getValue("type"), List.of("function"));
    }
    Object name = named.getValue("function") instanceof JsonObject f ? f.getValue("name") : null;
    if (!(name instanceof String)) {
      throw missing("tool_choice.function.name");
    }
    for (JsonObject f : functions) {
      if (name.equals(f.getString("name"))) {
        return f;
      }
    }
    throw new SimulatorError("Invalid value for 'tool_choice': function '" + name + "' is not one of the 'tools'.",
      "tool_choice", "invalid_value");
  }

  private static JsonObject responseFormat(Object value) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof JsonObject format)) {
      throw invalidType("response_format", "an object", value);
    }
    Object type = format.getValue("type");
    if (type == null) {
      throw missing("response_format.type");
    }
    if (!FORMATS.contains(type)) {
      throw invalidValue("response_format.type", type, FORMATS);
    }
    if (type.equals("json_schema")) {
      Object schema = format.getValue("json_schema");
      if (!(schema instanceof JsonObject s)) {
        throw schema == null ? missing("response_format.json_schema")
          : invalidType("response_format.json_schema", "an object", schema);
      }
      if (!(s.getValue("name") instanceof String)) {
        throw missing("response_format.json_schema.name");
      }
      if (s.getValue("schema") != null && !(s.getValue("schema") instanceof JsonObject)) {
        throw invalidType("response_format.json_schema.schema", "an object", s.getValue("schema"));
      }
    }
    return type.equals("text") ? null : format;
  }

  private static int maxTokens(JsonObject request) {
    String param = request.getValue("max_tokens") != null ? "max_tokens" : "max_completion_tokens";
    Object max = request.getValue(param);
    if (max == null) {
      return UNLIMITED;
    }
    if (!(max instanceof Integer || max instanceof Long)) {
      throw invalidType(param, "an integer", max);
    }
    long n = ((Number) max).longValue();
    if (n < 1) {
      throw new SimulatorError("Invalid '" + param + "': integer below minimum value. Expected a value >= 1, but got "
        + n + " instead.", param, "integer_below_min_value");
    }
    return (int) Math.min(UNLIMITED, n);
  }

  private static List<Message> messages(Object value) {
    if (value == null) {
      throw missing("messages");
    }
    if (!(value instanceof JsonArray array)) {
      throw invalidType("messages", "an array", value);
    }
    if (array.isEmpty()) {
      throw new SimulatorError("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
        + "empty array instead.", "messages", "empty_array");
    }
    List<Message> messages = new ArrayList<>(array.size());
    Set<String> round = null; // the tool_call ids of the assistant message the current tool messages answer
    Set<String> unanswered = null;
    int roundAt = -1;
    for (int i = 0; i < array.size(); i++) {
      String at = "messages[" + i + "]";
      if (!(array.getValue(i) instanceof JsonObject m)) {
        throw invalidType(at, "an object", array.getValue(i));
      }
      Object roleValue = m.getValue("role");
      if (roleValue == null) {
        throw missing(at + ".role");
      }
      if (!ROLES.contains(roleValue)) {
        throw invalidValue(at + ".role", roleValue, ROLES);
      }
      String role = (String) roleValue;
      Set<String> calls = role.equals("assistant") ? toolCalls(m, at) : null;
      boolean[] image = {false};
      String text = content(m, role, at, image);
      if (role.equals("tool")) {
        Object id = m.getValue("tool_call_id");
        if (!(id instanceof String)) {
          throw id == null ? new SimulatorError("Missing parameter 'tool_call_id': messages with role 'tool' must "
            + "have a 'tool_call_id'.", "messages.[" + i + "].tool_call_id", null)
            : invalidType(at + ".tool_call_id", "a string", id);
        }
        if (round == null || !round.contains(id)) {
          throw new SimulatorError("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
            + "message with 'tool_calls'.", "messages.[" + i + "].role", null);
        }
        unanswered.remove(id);
      } else {
        if (unanswered != null && !unanswered.isEmpty()) {
          throw unanswered(roundAt, unanswered);
        }
        round = calls;
        unanswered = calls == null ? null : new LinkedHashSet<>(calls);
        roundAt = i;
      }
      messages.add(new Message(role, text, image[0]));
    }
    if (unanswered != null && !unanswered.isEmpty()) {
      throw unanswered(roundAt, unanswered);
    }
    return messages;
  }

  private static SimulatorError unanswered(int at, Set<String> ids) {
    return new SimulatorError("An assistant message with 'tool_calls' must be followed by tool messages responding "
      + "to each 'tool_call_id'. The following tool_call_ids did not have response messages: " + String.join(", ", ids),
      "messages.[" + at + "].role", null);
  }

  /** The ids of an assistant message's tool_calls, checked; null when it has none. */
  private static Set<String> toolCalls(JsonObject message, String at) {
    Object value = message.getValue("tool_calls");
    if (value == null) {
      return null;
    }
    if (!(value instanceof JsonArray calls)) {
      throw invalidType(at + ".tool_calls", "an array", value);
    }
    if (calls.isEmpty()) {
      throw new SimulatorError("Invalid '" + at + ".tool_calls': empty array. Expected an array with minimum length 1, "
        + "but got an empty array instead.", at + ".tool_calls", "empty_array");
    }
    Set<String> ids = new LinkedHashSet<>();
    for (int k = 0; k < calls.size(); k++) {
      String call = at + ".tool_calls[" + k + "]";
      if (!(calls.getValue(k) instanceof JsonObject c)) {
        throw invalidType(call, "an object", calls.getValue(k));
      }
      requireString(c, "id", call);
      Object type = c.getValue("type");
      if (type == null) {
        throw missing(call + ".type");
      }
      if (!TOOL_TYPES.contains(type)) {
        throw invalidValue(call + ".type", type, TOOL_TYPES);
      }
      if (!(c.getValue((String) type) instanceof JsonObject f)) {
        throw missing(call + "." + type);
      }
      requireString(f, "name", call + "." + type);
      requireString(f, type.equals("function") ? "arguments" : "input", call + "." + type);
      ids.add(c.getString("id"));
    }
    return ids;
  }

  private static void requireString(JsonObject object, String field, String at) {
    Object value = object.getValue(field);
    if (!(value instanceof String)) {
      throw value == null ? missing(at + "." + field) : invalidType(at + "." + field, "a string", value);
    }
  }

  /** The message's text; content is a string or an array of parts of the types its role allows. */
  private static String content(JsonObject message, String role, String at, boolean[] image) {
    Object content = message.getValue("content");
    if (content == null) {
      if (role.equals("assistant")) {
        return "";
      }
      throw missing(at + ".content");
    }
    if (content instanceof String s) {
      return s;
    }
    if (!(content instanceof JsonArray parts)) {
      throw invalidType(at + ".content", "one of a string or array of objects", content);
    }
    List<String> allowed = PART_TYPES.get(role);
    StringBuilder text = new StringBuilder();
    for (int j = 0; j < parts.size(); j++) {
      String partAt = at + ".content[" + j + "]";
      if (!(parts.getValue(j) instanceof JsonObject part)) {
        throw invalidType(partAt, "an object", parts.getValue(j));
      }
      Object type = part.getValue("type");
      if (type == null) {
        throw missing(partAt + ".type");
      }
      if (!allowed.contains(type)) {
        throw invalidValue(partAt + ".type", type, allowed);
      }
      switch ((String) type) {
        case "text" -> {
          requireString(part, "text", partAt);
          text.append(part.getString("text"));
        }
        case "refusal" -> {
          requireString(part, "refusal", partAt);
          text.append(part.getString("refusal"));
        }
        case "image_url" -> {
          if (!(part.getValue("image_url") instanceof JsonObject url)) {
            throw missing(partAt + ".image_url");
          }
          requireString(url, "url", partAt + ".image_url");
          image[0] = true;
        }
        case "input_audio" -> {
          if (!(part.getValue("input_audio") instanceof JsonObject audio)) {
            throw missing(partAt + ".input_audio");
          }
          requireString(audio, "data", partAt + ".input_audio");
          requireString(audio, "format", partAt + ".input_audio");
          if (!AUDIO_FORMATS.contains(audio.getString("format"))) {
            throw invalidValue(partAt + ".input_audio.format", audio.getString("format"), AUDIO_FORMATS);
          }
        }
        case "file" -> {
          if (!(part.getValue("file") instanceof JsonObject file)) {
            throw missing(partAt + ".file");
          }
          if (!(file.getValue("file_id") instanceof String) && !(file.getValue("file_data") instanceof String)) {
            throw missing(partAt + ".file.file_id");
          }
        }
        default -> throw new IllegalStateException(String.valueOf(type));
      }
    }
    return text.toString();
  }

  /** The text of the last user message before {@code end}; "" when there is none. */
  static String lastUserText(List<Message> messages, int end) {
    for (int i = end - 1; i >= 0; i--) {
      if (messages.get(i).role().equals("user")) {
        return messages.get(i).text();
      }
    }
    return "";
  }
}
