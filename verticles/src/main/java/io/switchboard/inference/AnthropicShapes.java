package io.switchboard.inference;

import io.switchboard.chat.InvalidRequest;
import io.vertx.core.json.JsonObject;

/**
 * The mappings between Anthropic's Messages shapes and OpenAI's that serve both directions: the Anthropic upstream
 * (OpenAI in, Anthropic out) and the {@code /v1/messages} door (Anthropic in, OpenAI on to any provider). Each pair
 * sits side by side so the two directions cannot drift apart. What has no form on the other side is an
 * {@link InvalidRequest} naming the field.
 */
public final class AnthropicShapes {
  private AnthropicShapes() {
  }

  /** Anthropic's stop reason as OpenAI's finish reason. */
  static String finishReason(String stopReason) {
    if (stopReason == null) {
      return "stop";
    }
    return switch (stopReason) {
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> "stop"; // end_turn, stop_sequence, pause_turn
    };
  }

  /** OpenAI's finish reason as Anthropic's stop reason (OpenAI does not say whether a stop sequence ended it). */
  public static String stopReason(String finishReason) {
    return switch (finishReason == null ? "stop" : finishReason) {
      case "length" -> "max_tokens";
      case "tool_calls", "function_call" -> "tool_use";
      case "content_filter" -> "refusal";
      default -> "end_turn";
    };
  }

  /** A thinking budget as OpenAI's reasoning effort: the nearest of the budgets the upstream sends for each. */
  public static String reasoningEffort(int budgetTokens) {
    int low = AnthropicUpstream.THINKING_BUDGETS.get("low");
    int medium = AnthropicUpstream.THINKING_BUDGETS.get("medium");
    return budgetTokens <= 2 * low ? "low" : budgetTokens <= 2 * medium ? "medium" : "high";
  }

  /** An OpenAI image URL (https or a base64 data URL) as Anthropic's image block. */
  static JsonObject imageBlock(String url, String at) {
    if (url.startsWith("data:")) {
      int comma = url.indexOf(',');
      String meta = comma < 0 ? "" : url.substring(5, comma);
      if (!meta.endsWith(";base64")) {
        throw InvalidRequest.of("An image data URL must be base64 (data:image/png;base64,...).", at + ".image_url.url");
      }
      return new JsonObject().put("type", "image").put("source", new JsonObject().put("type", "base64")
        .put("media_type", meta.substring(0, meta.length() - 7)).put("data", url.substring(comma + 1)));
    }
    if (url.startsWith("https://") || url.startsWith("http://")) {
      return new JsonObject().put("type", "image").put("source", new JsonObject().put("type", "url").put("url", url));
    }
    throw InvalidRequest.of("An image URL must be https:// or a data: URL.", at + ".image_url.url");
  }

  /** An Anthropic image block's source as OpenAI's image URL: a base64 source becomes a data URL. */
  public static String imageUrl(Object source, String at) {
    if (source instanceof JsonObject s && "base64".equals(s.getValue("type"))
      && s.getValue("media_type") instanceof String mediaType && s.getValue("data") instanceof String data) {
      return "data:" + mediaType + ";base64," + data;
    }
    if (source instanceof JsonObject s && "url".equals(s.getValue("type")) && s.getValue("url") instanceof String url) {
      return url;
    }
    throw InvalidRequest.of(at + ".source must be {type: base64, media_type, data} or {type: url, url}.",
      at + ".source");
  }

  /** An OpenAI function tool as Anthropic's tool. */
  static JsonObject tool(Object raw, String at) {
    if (!(raw instanceof JsonObject tool) || !"function".equals(tool.getValue("type"))
      || !(tool.getValue("function") instanceof JsonObject function) || !(function.getValue("name") instanceof String name)) {
      throw InvalidRequest.of("Only function tools can be sent to this model.", at);
    }
    JsonObject translated = new JsonObject().put("name", name);
    if (function.getValue("description") instanceof String description) {
      translated.put("description", description);
    }
    Object schema = function.getValue("parameters");
    return translated.put("input_schema", schema instanceof JsonObject parameters ? parameters
      : new JsonObject().put("type", "object").put("properties", new JsonObject())); // OpenAI: no parameters
  }

  /** An Anthropic client tool as OpenAI's function tool; server tools (web search, ...) have no OpenAI form. */
  public static JsonObject openAiTool(Object raw, String at) {
    if (!(raw instanceof JsonObject tool) || !(tool.getValue("name") instanceof String name)) {
      throw InvalidRequest.of(at + " must be an object with a string 'name'.", at + ".name");
    }
    if (tool.getValue("type") != null && !"custom".equals(tool.getValue("type"))) {
      throw InvalidRequest.of(at + ": tools of type '" + tool.getValue("type") + "' are not supported here; only "
        + "client tools (name, description, input_schema).", at + ".type");
    }
    if (!(tool.getValue("input_schema") instanceof JsonObject schema)) {
      throw InvalidRequest.of(at + ".input_schema is required and must be an object.", at + ".input_schema");
    }
    JsonObject function = new JsonObject().put("name", name);
    if (tool.getValue("description") instanceof String description) {
      function.put("description", description);
    }
    return new JsonObject().put("type", "function").put("function", function.put("parameters", schema));
  }

  /** OpenAI's tool_choice as Anthropic's; null when Anthropic's default (auto) says the same. */
  static JsonObject toolChoice(Object choice) {
    if (choice == null) {
      return null;
    }
    if (choice instanceof String mode) {
      return switch (mode) {
        case "none" -> new JsonObject().put("type", "none");
        case "required" -> new JsonObject().put("type", "any");
        default -> new JsonObject().put("type", "auto");
      };
    }
    String name = OpenAiRequests.chosenFunction(choice);
    if (name != null) {
      return new JsonObject().put("type", "tool").put("name", name);
    }
    if (choice instanceof JsonObject allowed && allowed.getValue("allowed_tools") instanceof JsonObject tools) {
      return toolChoice(tools.getValue("mode", "auto")); // the mode only: Anthropic cannot narrow the tool list
    }
    throw InvalidRequest.of("This tool_choice cannot be sent to this model.", "tool_choice");
  }

  /** Anthropic's tool_choice as OpenAI's (its disable_parallel_tool_use is read by the caller). */
  public static Object openAiToolChoice(Object choice) {
    if (!(choice instanceof JsonObject c) || !(c.getValue("type") instanceof String type)) {
      throw InvalidRequest.of("tool_choice must be an object with a string 'type'.", "tool_choice.type");
    }
    return switch (type) {
      case "auto" -> "auto";
      case "any" -> "required";
      case "none" -> "none";
      case "tool" -> {
        if (!(c.getValue("name") instanceof String name)) {
          throw InvalidRequest.of("tool_choice.name is required when tool_choice.type is 'tool'.", "tool_choice.name");
        }
        yield new JsonObject().put("type", "function").put("function", new JsonObject().put("name", name));
      }
      default -> throw InvalidRequest.of("tool_choice.type must be one of auto, any, tool, none.", "tool_choice.type");
    };
  }
}
