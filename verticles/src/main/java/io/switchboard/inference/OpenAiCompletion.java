package io.switchboard.inference;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.io.IOException;

/**
 * A non-streamed OpenAI {@code chat.completion} on its way to the client: every field as the upstream wrote it
 * (message with tool calls, refusal, annotations, audio, reasoning; logprobs; usage details; system_fingerprint;
 * service_tier; ...), with only the gateway's id and model written in. The first choice's message, its finish
 * reason and the usage are read for memory and accounting.
 */
final class OpenAiCompletion {
  private static final JsonFactory JSON = new JsonFactory();

  private OpenAiCompletion() {
  }

  static ChatResult read(ChatRequest request, String deployment, Buffer body) {
    byte[] bytes = body.getBytes();
    JsonSplice splice = new JsonSplice(bytes, 0);
    JsonObject message = null;
    JsonObject usage = null;
    String finishReason = null;
    boolean sawChoices = false;
    try (JsonParser json = JSON.createParser(bytes)) {
      if (json.nextToken() != JsonToken.START_OBJECT) {
        throw HttpFailures.malformed("a response that is not a chat completion");
      }
      while (json.nextToken() == JsonToken.FIELD_NAME) {
        String field = json.currentName();
        JsonToken value = json.nextToken();
        switch (field) {
          case "id" -> splice.replaceValue(json, value, JsonSplice.quoted(Upstream.completionId(request)));
          case "model" -> splice.replaceValue(json, value, JsonSplice.quoted(request.model()));
          case "usage" -> {
            if (value == JsonToken.START_OBJECT) {
              usage = io.switchboard.json.JsonTree.object(json);
            }
          }
          case "choices" -> {
            if (value != JsonToken.START_ARRAY) {
              throw HttpFailures.malformed("a response that is not a chat completion");
            }
            sawChoices = true;
            boolean first = true;
            while (json.nextToken() == JsonToken.START_OBJECT) {
              if (!first) {
                json.skipChildren();
                continue;
              }
              first = false;
              while (json.nextToken() == JsonToken.FIELD_NAME) {
                String inner = json.currentName();
                JsonToken token = json.nextToken();
                if (inner.equals("message") && token == JsonToken.START_OBJECT) {
                  message = io.switchboard.json.JsonTree.object(json);
                } else if (inner.equals("finish_reason") && token == JsonToken.VALUE_STRING) {
                  finishReason = json.getText();
                } else {
                  json.skipChildren();
                }
              }
            }
          }
          default -> json.skipChildren();
        }
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof UpstreamFailure failure) {
        throw failure;
      }
      throw HttpFailures.malformed("a response that is not a chat completion");
    }
    if (!sawChoices || message == null) {
      throw HttpFailures.malformed("a response that is not a chat completion");
    }
    return new ChatResult(request.requestId(), splice.result(), message, finishReason, usage, 0, deployment, 0);
  }
}
