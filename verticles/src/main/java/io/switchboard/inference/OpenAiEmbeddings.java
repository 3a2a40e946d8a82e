package io.switchboard.inference;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.switchboard.bus.EmbeddingRequest;
import io.switchboard.bus.EmbeddingResult;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;

/**
 * An OpenAI embeddings list ({@code {"object":"list","data":[...],"model":...,"usage":{...}}}) on its way to the
 * client: byte for byte as the upstream wrote it (float arrays or base64 strings alike), with only {@code model}
 * written as the public model name. The usage is read for accounting; the vectors are never decoded.
 */
final class OpenAiEmbeddings {
  private static final JsonFactory JSON = new JsonFactory();

  private OpenAiEmbeddings() {
  }

  static EmbeddingResult read(EmbeddingRequest request, String deployment, Buffer body) {
    byte[] bytes = body.getBytes();
    JsonSplice splice = new JsonSplice(bytes, 0);
    io.vertx.core.json.JsonObject usage = null;
    boolean sawData = false;
    try (JsonParser json = JSON.createParser(bytes)) {
      if (json.nextToken() != JsonToken.START_OBJECT) {
        throw HttpFailures.malformed("a response that is not an embeddings list");
      }
      while (json.nextToken() == JsonToken.FIELD_NAME) {
        String field = json.currentName();
        JsonToken value = json.nextToken();
        switch (field) {
          case "model" -> splice.replaceValue(json, value, JsonSplice.quoted(request.model()));
          case "usage" -> {
            if (value == JsonToken.START_OBJECT) {
              usage = io.switchboard.json.JsonTree.object(json);
            }
          }
          case "data", "results" -> {
            // an embeddings list's data, a moderation's results
            sawData = sawData || value == JsonToken.START_ARRAY && field.equals(request.moderation() ? "results" : "data");
            json.skipChildren();
          }
          default -> json.skipChildren();
        }
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof UpstreamFailure failure) {
        throw failure;
      }
      throw HttpFailures.malformed("a response that is not an embeddings list");
    }
    if (!sawData) {
      throw HttpFailures.malformed("a response that is not an embeddings list");
    }
    return new EmbeddingResult(request.requestId(), splice.result(), usage, deployment, 0);
  }
}
