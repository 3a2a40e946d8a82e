package io.switchboard.simulator;

import io.switchboard.json.JsonText;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static io.switchboard.simulator.SimulatorError.invalidType;
import static io.switchboard.simulator.SimulatorError.invalidValue;

/**
 * {@code POST /v1/embeddings}: deterministic unit vectors, one per input, seeded by a hash of the input. A vector
 * with fewer {@code dimensions} is the longer one's start, normalised again, as OpenAI's shortened embeddings are.
 */
final class Embeddings {
  static final String MODEL = "switchboard-simulator-embedding";
  static final int DEFAULT_DIMENSIONS = 8;
  static final int MAX_DIMENSIONS = 3072;
  static final int MAX_INPUTS = 2048;
  private static final List<String> ENCODINGS = List.of("float", "base64");
  private static final String INVALID_INPUT = "'$.input' is invalid. Please check the API reference: "
    + "https://platform.openai.com/docs/api-reference.";

  /** One input: a string, or token ids. */
  private record Input(String text, int[] tokens) {
    long seed() {
      if (text != null) {
        return Tokens.hash(text);
      }
      long h = 0x84222325cbf29ce4L;
      for (int token : tokens) {
        h = (h ^ token) * 0x100000001b3L;
      }
      return h;
    }

    int promptTokens() {
      return text != null ? Math.max(1, Tokens.fragments(text).length) : tokens.length;
    }
  }

  private Embeddings() {
  }

  /** The response body for a request; a request OpenAI would refuse throws {@link SimulatorError}. */
  static String respond(JsonObject request) {
    List<Input> inputs = inputs(request.getValue("input"));
    Object model = request.getValue("model");
    if (model != null && !(model instanceof String)) {
      throw invalidType("model", "a string", model);
    }
    Object encoding = request.getValue("encoding_format");
    if (encoding != null && !ENCODINGS.contains(encoding)) {
      throw invalidValue("encoding_format", encoding, ENCODINGS);
    }
    boolean base64 = "base64".equals(encoding);
    int dimensions = dimensions(request.getValue("dimensions"));
    StringBuilder out = new StringBuilder(64 + inputs.size() * (base64 ? dimensions * 6 : dimensions * 22));
    out.append("{\"object\":\"list\",\"data\":[");
    int promptTokens = 0;
    for (int i = 0; i < inputs.size(); i++) {
      Input input = inputs.get(i);
      promptTokens += input.promptTokens();
      float[] vector = vector(input.seed(), dimensions);
      out.append(i == 0 ? "" : ",").append("{\"object\":\"embedding\",\"index\":").append(i).append(",\"embedding\":");
      if (base64) {
        ByteBuffer bytes = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : vector) {
          bytes.putFloat(v);
        }
        out.append('"').append(Base64.getEncoder().encodeToString(bytes.array())).append('"');
      } else {
        out.append('[');
        for (int d = 0; d < vector.length; d++) {
          out.append(d == 0 ? "" : ",").append((double) vector[d]);
        }
        out.append(']');
      }
      out.append('}');
    }
    out.append("],\"model\":");
    JsonText.appendQuoted(out, model == null ? MODEL : (String) model);
    return out.append(",\"usage\":{\"prompt_tokens\":").append(promptTokens).append(",\"total_tokens\":")
      .append(promptTokens).append("}}").toString();
  }

  /** A unit vector: the first {@code dimensions} of a sequence seeded by {@code seed}, normalised. */
  static float[] vector(long seed, int dimensions) {
    double[] values = new double[dimensions];
    double norm = 0;
    long state = seed;
    for (int d = 0; d < dimensions; d++) {
      state += 0x9e3779b97f4a7c15L;
      values[d] = (Tokens.mix(state) >>> 11) * 0x1.0p-53 * 2 - 1;
      norm += values[d] * values[d];
    }
    norm = Math.sqrt(norm);
    float[] vector = new float[dimensions];
    for (int d = 0; d < dimensions; d++) {
      vector[d] = (float) (norm == 0 ? (d == 0 ? 1 : 0) : values[d] / norm);
    }
    return vector;
  }

  private static int dimensions(Object value) {
    if (value == null) {
      return DEFAULT_DIMENSIONS;
    }
    if (!(value instanceof Integer || value instanceof Long)) {
      throw invalidType("dimensions", "an integer", value);
    }
    long n = ((Number) value).longValue();
    if (n < 1) {
      throw new SimulatorError("Invalid 'dimensions': integer below minimum value. Expected a value >= 1, but got " + n
        + " instead.", "dimensions", "integer_below_min_value");
    }
    if (n > MAX_DIMENSIONS) {
      throw new SimulatorError("Invalid 'dimensions': integer above maximum value. Expected a value <= "
        + MAX_DIMENSIONS + ", but got " + n + " instead.", "dimensions", "integer_above_max_value");
    }
    return (int) n;
  }

  /** A string, an array of strings, an array of token ids, or an array of arrays of token ids; none empty. */
  private static List<Input> inputs(Object value) {
    if (value == null) {
      throw SimulatorError.missing("input");
    }
    List<Input> inputs = new ArrayList<>();
    if (value instanceof String s) {
      if (s.isEmpty()) {
        throw new SimulatorError(INVALID_INPUT, null, null);
      }
      inputs.add(new Input(s, null));
      return inputs;
    }
    if (!(value instanceof JsonArray array) || array.isEmpty()) {
      throw new SimulatorError(INVALID_INPUT, null, null);
    }
    if (array.size() > MAX_INPUTS) {
      throw new SimulatorError("Invalid 'input': array too long. Expected an array with maximum length " + MAX_INPUTS
        + ", but got an array with length " + array.size() + " instead.", "input", "array_above_max_length");
    }
    Object first = array.getValue(0);
    if (first instanceof Integer || first instanceof Long) {
      inputs.add(new Input(null, tokenIds(array)));
      return inputs;
    }
    for (Object item : array) {
      if (item instanceof String s && !s.isEmpty() && !(first instanceof JsonArray)) {
        inputs.add(new Input(s, null));
      } else if (item instanceof JsonArray tokens && first instanceof JsonArray && !tokens.isEmpty()) {
        inputs.add(new Input(null, tokenIds(tokens)));
      } else {
        throw new SimulatorError(INVALID_INPUT, null, null);
      }
    }
    return inputs;
  }

  private static int[] tokenIds(JsonArray array) {
    int[] ids = new int[array.size()];
    for (int i = 0; i < ids.length; i++) {
      if (!(array.getValue(i) instanceof Integer id) || id < 0) {
        throw new SimulatorError(INVALID_INPUT, null, null);
      }
      ids[i] = id;
    }
    return ids;
  }
}
