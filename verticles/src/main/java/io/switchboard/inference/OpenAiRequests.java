package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.switchboard.chat.InvalidRequest;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.function.Supplier;

/**
 * What the translated providers (Anthropic, Bedrock, Gemini) read alike from an OpenAI chat request, and how they
 * refuse alike what they cannot say: a fatal 400 naming the field, so a retry elsewhere is not tried for nothing.
 */
final class OpenAiRequests {
  private OpenAiRequests() {
  }

  /** A request this provider cannot be told: the client's 400, naming {@code param}. */
  static UpstreamFailure untranslatable(String message, String param) {
    return UpstreamFailure.fatal(ApiError.badRequest(message, param));
  }

  /** The translated request's body; options of the wrong type (a cast that fails) are one clear 400. */
  static Buffer translated(Supplier<JsonObject> requestBody) {
    try {
      return requestBody.get().toBuffer();
    } catch (UpstreamFailure untranslatable) {
      throw untranslatable;
    } catch (InvalidRequest untranslatable) {
      throw UpstreamFailure.fatal(untranslatable.error());
    } catch (RuntimeException badOptions) {
      throw UpstreamFailure.fatal(ApiError.badRequest("The request's parameters could not be translated for this "
        + "model.", null));
    }
  }

  /** The refusal of a legacy {@code function} message at {@code at}. */
  static UpstreamFailure legacyFunctionMessage(String at) {
    return untranslatable("Legacy function messages cannot be sent to this model; use tools and tool messages.",
      at + ".role");
  }

  /** Legacy {@code functions} and {@code function_call} are refused: only tools translate. */
  static void refuseLegacyFunctions(JsonObject options) {
    if (options.containsKey("functions") || options.containsKey("function_call")) {
      throw untranslatable("Legacy functions cannot be sent to this model; use tools.", "functions");
    }
  }

  /** Translated providers answer with one choice: asking for more is refused, not answered with fewer. */
  static void requireOneChoice(JsonObject options) {
    Number n = options.getNumber("n");
    if (n != null && n.intValue() != 1) {
      throw untranslatable("Only one choice (n: 1) can be asked of this model.", "n");
    }
  }

  /** {@code stop} (one string or several) as a list of stop sequences; null when there are none. */
  static JsonArray stopSequences(JsonObject options) {
    Object stop = options.getValue("stop");
    if (stop instanceof String one) {
      return new JsonArray().add(one);
    }
    return stop instanceof JsonArray several && !several.isEmpty() ? several : null;
  }

  /** An OpenAI tool ({@code tools[i]}, at {@code at}) that must be a function tool with a name. */
  record FunctionTool(String name, String description, JsonObject parameters) {
    static FunctionTool of(Object raw, String at) {
      if (!(raw instanceof JsonObject tool) || !"function".equals(tool.getValue("type"))
        || !(tool.getValue("function") instanceof JsonObject function)
        || !(function.getValue("name") instanceof String name)) {
        throw untranslatable("Only function tools can be sent to this model.", at);
      }
      return new FunctionTool(name, function.getValue("description") instanceof String d ? d : null,
        function.getValue("parameters") instanceof JsonObject p ? p : null);
    }
  }

  /** The function a {@code tool_choice} of {@code {type: function, function: {name}}} names; null for any other. */
  static String chosenFunction(Object choice) {
    return choice instanceof JsonObject named && named.getValue("function") instanceof JsonObject function
      && function.getValue("name") instanceof String name ? name : null;
  }

  /** A base64 data URL's media type and data: what a provider that does not fetch URLs takes inline. */
  record DataUrl(String mediaType, String data) {
    /** {@code url} read as a base64 data URL; a web URL is refused, naming {@code provider}, which it is not sent to. */
    static DataUrl of(String url, String at, String what, String provider) {
      int comma = url.indexOf(',');
      String meta = url.startsWith("data:") && comma > 0 ? url.substring(5, comma) : "";
      if (!meta.endsWith(";base64")) {
        throw untranslatable(what + " for this model must be given inline as a base64 data: URL "
          + "(data:image/png;base64,...): the gateway does not fetch URLs for " + provider + ".", at);
      }
      return new DataUrl(meta.substring(0, meta.length() - 7), url.substring(comma + 1));
    }
  }

  /** A tool call's arguments (JSON text) as the JSON object the providers take as its input. */
  static JsonObject toolArguments(String arguments, String at) {
    if (arguments == null || arguments.isBlank()) {
      return new JsonObject();
    }
    try {
      return new JsonObject(arguments);
    } catch (RuntimeException notAnObject) {
      throw untranslatable("A tool call's arguments must be a JSON object for this model.", at + ".function.arguments");
    }
  }
}
