package io.switchboard.inference;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.eventstream.HeaderValue;
import software.amazon.awssdk.eventstream.Message;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AWS Bedrock's runtime on loopback: Converse ({@code POST /model/{modelId}/converse}) and ConverseStream
 * ({@code /converse-stream}, AWS event-stream frames encoded with the AWS SDK's own codec: messageStart,
 * contentBlockStart, contentBlockDelta, contentBlockStop, messageStop, metadata). Every request's SigV4 signature is
 * verified by signing the request again as received with the same SDK signer and comparing: an unknown key id, a
 * wrong secret, a tampered body or a scope for another region or service are a 403 in AWS's shape
 * ({@code x-amzn-ErrorType} and {@code {"message":...}}). A Bedrock API key may come as a bearer instead. Converse's
 * own rules are ValidationExceptions: a conversation that does not start with the user or does not alternate,
 * toolUse/toolResult blocks without a toolConfig, results not matching the calls before, image formats outside
 * [gif, jpeg, png, webp], unknown fields, unknown models.
 *
 * <p>Answers: to tool results, "The tool said: ..."; given tools, text and a toolUse of the first (or the chosen) tool
 * with the last user text as its first property; given an image, its format and size; otherwise {@link #DELTAS}.
 */
final class FakeBedrock extends FakeProvider {
  static final String REGION = "us-east-1";
  // made-up credentials in no real key's format: the fake checks signatures made with them, nothing else knows them
  static final String ACCESS_KEY = "FAKE-BEDROCK-TEST-ACCESS-KEY";
  static final String SECRET_KEY = "fake-bedrock-test-secret-not-an-aws-key";
  static final String SESSION_ACCESS_KEY = "FAKE-BEDROCK-TEST-SESSION-KEY";
  static final String SESSION_SECRET_KEY = "fake-bedrock-test-session-secret-not-aws";
  static final String SESSION_TOKEN = "fake-bedrock-test-session-token";
  static final String API_KEY = "fake-bedrock-test-api-key";
  static final Set<String> MODELS = Set.of("anthropic.claude-3-5-sonnet-20240620-v1:0",
    "us.anthropic.claude-sonnet-4-20250514-v1:0");
  static final List<String> DELTAS = List.of("Hello", " from", " Bedrock", ".");
  static final String TOOL_INTRO = "Let me check that.";
  private static final AwsV4HttpSigner SIGNER = AwsV4HttpSigner.create();
  /** An exception type the next stream fails with, after its messageStart (null: none). */
  volatile String streamExceptionNext;
  private static final Pattern PATH = Pattern.compile("/model/([^/]+)/(converse|converse-stream)");
  private static final Pattern AUTHORIZATION = Pattern.compile(
    "AWS4-HMAC-SHA256 Credential=([^/]+)/(\\d{8})/([^/]+)/([^/]+)/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})");
  private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
    .withZone(ZoneOffset.UTC);
  private static final Set<String> FIELDS = Set.of("messages", "system", "inferenceConfig", "toolConfig",
    "guardrailConfig", "additionalModelRequestFields", "additionalModelResponseFieldPaths", "promptVariables",
    "requestMetadata", "performanceConfig");
  private static final Set<String> IMAGE_FORMATS = Set.of("gif", "jpeg", "png", "webp");

  static FakeBedrock start(Vertx vertx) throws Exception {
    return new FakeBedrock().listen(vertx);
  }

  @Override
  void handle(HttpServerRequest request, Buffer raw) {
    HttpServerResponse response = request.response().putHeader("x-amzn-requestid", "7a5d0f3c-0b7e-4c3d-9e1f-2a3b4c5d6e7f");
    String denied = authenticationFailure(request, raw);
    if (denied != null) {
      String[] typeAndMessage = denied.split(": ", 2);
      error(response, 403, typeAndMessage[0], typeAndMessage[1]);
      return;
    }
    Matcher path = PATH.matcher(request.path());
    if (!path.matches()) {
      error(response, 404, "UnknownOperationException", "Unknown operation");
      return;
    }
    String model = java.net.URLDecoder.decode(path.group(1), StandardCharsets.UTF_8);
    if (!MODELS.contains(model)) {
      error(response, 400, "ValidationException", "The provided model identifier is invalid.");
      return;
    }
    JsonObject body;
    try {
      body = raw.toJsonObject();
    } catch (RuntimeException e) {
      error(response, 400, "SerializationException", "Unable to parse request body");
      return;
    }
    String invalid = validation(body);
    if (invalid != null) {
      error(response, 400, "ValidationException", invalid);
      return;
    }
    int failure = queuedFailure();
    if (failure == 429) {
      error(response, 429, "ThrottlingException", "Too many requests, please wait before trying again.");
      return;
    } else if (failure != 0) {
      error(response, failure, "ServiceUnavailableException", "Bedrock is unable to process your request.");
      return;
    }
    JsonArray messages = body.getJsonArray("messages");
    JsonObject last = messages.getJsonObject(messages.size() - 1);
    List<JsonObject> blocks = answer(body, last);
    String stopReason = blocks.stream().anyMatch(b -> b.containsKey("toolUse")) ? "tool_use" : "end_turn";
    JsonObject usage = new JsonObject().put("inputTokens", 25).put("outputTokens", 11).put("totalTokens", 41)
      .put("cacheReadInputTokens", 5).put("cacheWriteInputTokens", 0);
    if (path.group(2).equals("converse")) {
      response.putHeader("content-type", "application/json").end(new JsonObject()
        .put("output", new JsonObject().put("message", new JsonObject().put("role", "assistant")
          .put("content", new JsonArray(new ArrayList<>(blocks)))))
        .put("stopReason", stopReason).put("usage", usage)
        .put("metrics", new JsonObject().put("latencyMs", 412)).encode());
      return;
    }
    response.setChunked(true).putHeader("content-type", "application/vnd.amazon.eventstream");
    List<Buffer> frames = new ArrayList<>();
    frames.add(event("messageStart", new JsonObject().put("role", "assistant")));
    String exception = streamExceptionNext;
    if (exception != null) {
      streamExceptionNext = null;
      frames.add(exception(exception, "Too many requests, please wait before trying again."));
      frames.forEach(response::write);
      response.end();
      return;
    }
    for (int i = 0; i < blocks.size(); i++) {
      JsonObject block = blocks.get(i);
      if (block.getValue("toolUse") instanceof JsonObject use) {
        frames.add(event("contentBlockStart", new JsonObject().put("contentBlockIndex", i).put("start",
          new JsonObject().put("toolUse", new JsonObject().put("toolUseId", use.getString("toolUseId"))
            .put("name", use.getString("name"))))));
        String input = use.getJsonObject("input").encode();
        for (String piece : List.of(input.substring(0, input.length() / 2), input.substring(input.length() / 2))) {
          frames.add(event("contentBlockDelta", new JsonObject().put("contentBlockIndex", i)
            .put("delta", new JsonObject().put("toolUse", new JsonObject().put("input", piece)))));
        }
      } else {
        String text = block.getString("text");
        for (String piece : text.equals(String.join("", DELTAS)) ? DELTAS : List.of(text)) {
          frames.add(event("contentBlockDelta", new JsonObject().put("contentBlockIndex", i)
            .put("delta", new JsonObject().put("text", piece))));
        }
      }
      frames.add(event("contentBlockStop", new JsonObject().put("contentBlockIndex", i)));
    }
    frames.add(event("messageStop", new JsonObject().put("stopReason", stopReason)));
    frames.add(event("metadata", new JsonObject().put("usage", usage)
      .put("metrics", new JsonObject().put("latencyMs", 412))));
    // frames split across writes at odd places, as TCP delivers them
    Buffer all = Buffer.buffer();
    frames.forEach(all::appendBuffer);
    for (int at = 0; at < all.length(); at += 97) {
      response.write(all.getBuffer(at, Math.min(all.length(), at + 97)));
    }
    response.end();
  }

  /** Why the request's credentials are refused ("ExceptionType: message"), or null when its signature holds. */
  private static String authenticationFailure(HttpServerRequest request, Buffer body) {
    String authorization = request.getHeader("authorization");
    if (authorization == null) {
      return "MissingAuthenticationTokenException: Missing Authentication Token";
    }
    if (authorization.startsWith("Bearer ")) {
      return authorization.equals("Bearer " + API_KEY) ? null
        : "UnrecognizedClientException: The security token included in the request is invalid.";
    }
    Matcher parts = AUTHORIZATION.matcher(authorization);
    if (!parts.matches()) {
      return "IncompleteSignatureException: Authorization header requires 'Credential', 'SignedHeaders' and "
        + "'Signature' parameters.";
    }
    String keyId = parts.group(1);
    String token = request.getHeader("x-amz-security-token");
    AwsCredentials credentials;
    if (keyId.equals(ACCESS_KEY) && token == null) {
      credentials = AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY);
    } else if (keyId.equals(SESSION_ACCESS_KEY) && SESSION_TOKEN.equals(token)) {
      credentials = AwsSessionCredentials.create(SESSION_ACCESS_KEY, SESSION_SECRET_KEY, SESSION_TOKEN);
    } else {
      return "UnrecognizedClientException: The security token included in the request is invalid.";
    }
    if (!parts.group(3).equals(REGION) || !parts.group(4).equals("bedrock")) {
      return "InvalidSignatureException: Credential should be scoped to a valid region.";
    }
    String date = request.getHeader("x-amz-date");
    if (date == null) {
      return "IncompleteSignatureException: Authorization header requires existence of either a 'X-Amz-Date' or a "
        + "'Date' header.";
    }
    Instant signedAt = Instant.from(AMZ_DATE.parse(date));
    String host = request.getHeader("host");
    int colon = host.lastIndexOf(':');
    SdkHttpFullRequest.Builder again = SdkHttpFullRequest.builder().method(SdkHttpMethod.valueOf(request.method()
        .name())).protocol("http").host(host.substring(0, colon)).port(Integer.parseInt(host.substring(colon + 1)))
      .encodedPath(request.path());
    for (String name : parts.group(5).split(";")) {
      if (!Set.of("host", "x-amz-date", "x-amz-security-token").contains(name)) {
        String value = request.getHeader(name);
        if (value == null) {
          return "InvalidSignatureException: The request signature we calculated does not match the signature you "
            + "provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for "
            + "details.";
        }
        again.putHeader(name, value);
      }
    }
    String expected = SIGNER.sign(r -> r.identity(credentials).request(again.build())
        .payload(ContentStreamProvider.fromByteArray(body.getBytes()))
        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "bedrock")
        .putProperty(AwsV4HttpSigner.REGION_NAME, REGION)
        .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(signedAt, ZoneOffset.UTC)))
      .request().firstMatchingHeader("Authorization").orElse("");
    return expected.equals(authorization) ? null
      : "InvalidSignatureException: The request signature we calculated does not match the signature you provided. "
      + "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
  }

  /** What Converse refuses, in its words; null when it takes the request. */
  static String validation(JsonObject body) {
    for (String field : body.fieldNames()) {
      if (!FIELDS.contains(field)) {
        return "Malformed input request: extraneous key [" + field + "] is not permitted, please reformat your input "
          + "and try again.";
      }
    }
    JsonArray messages = body.getJsonArray("messages", new JsonArray());
    if (messages.isEmpty() || !"user".equals(messages.getJsonObject(0).getString("role"))) {
      return "A conversation must start with a user message. Try again with a conversation that starts with a user "
        + "message.";
    }
    int toolUses = 0;
    for (int i = 0; i < messages.size(); i++) {
      JsonObject message = messages.getJsonObject(i);
      if (i > 0 && message.getString("role").equals(messages.getJsonObject(i - 1).getString("role"))) {
        return "A conversation must alternate between user and assistant roles. Make sure the conversation "
          + "alternates between user and assistant roles and try again.";
      }
      JsonArray content = message.getJsonArray("content", new JsonArray());
      if (content.isEmpty()) {
        return "The content field in the Message object at messages." + i + ".content is empty. Add a ContentBlock "
          + "object to the content field and try again.";
      }
      int uses = 0;
      int results = 0;
      for (int j = 0; j < content.size(); j++) {
        JsonObject block = content.getJsonObject(j);
        if (block.containsKey("toolUse") || block.containsKey("toolResult")) {
          if (!body.containsKey("toolConfig")) {
            return "The toolConfig field must be defined when using toolUse and toolResult content blocks.";
          }
          if (block.containsKey("toolUse")) {
            uses++;
          } else {
            results++;
          }
        } else if (block.getValue("image") instanceof JsonObject image
          && !IMAGE_FORMATS.contains(image.getString("format"))) {
          return "1 validation error detected: Value '" + image.getString("format") + "' at 'messages." + (i + 1)
            + ".member.content." + (j + 1) + ".member.image.format' failed to satisfy constraint: Member must "
            + "satisfy enum value set: [gif, jpeg, png, webp]";
        }
      }
      if (results > toolUses) {
        return "The number of toolResult blocks at messages." + i + ".content exceeds the number of toolUse blocks "
          + "of previous turn.";
      }
      toolUses = uses;
    }
    return null;
  }

  private static List<JsonObject> answer(JsonObject body, JsonObject last) {
    List<String> results = new ArrayList<>();
    List<String> images = new ArrayList<>();
    String prompt = "";
    for (Object raw : last.getJsonArray("content")) {
      JsonObject block = (JsonObject) raw;
      if (block.getValue("toolResult") instanceof JsonObject result) {
        result.getJsonArray("content").forEach(c -> results.add(((JsonObject) c).getString("text")));
      } else if (block.getValue("image") instanceof JsonObject image) {
        images.add(image.getString("format") + ", " + image.getJsonObject("source").getString("bytes").length()
          + " base64 characters");
      } else if (block.getValue("text") instanceof String text) {
        prompt += text;
      }
    }
    JsonObject tools = body.getJsonObject("toolConfig");
    if (!results.isEmpty()) {
      return List.of(new JsonObject().put("text", "The tool said: " + String.join("; ", results)));
    }
    if (tools != null && !tools.getJsonArray("tools").isEmpty()) {
      JsonObject choice = tools.getJsonObject("toolChoice", new JsonObject().put("auto", new JsonObject()));
      String chosen = choice.getJsonObject("tool") == null ? null : choice.getJsonObject("tool").getString("name");
      JsonObject spec = tools.getJsonArray("tools").stream().map(t -> ((JsonObject) t).getJsonObject("toolSpec"))
        .filter(s -> chosen == null || s.getString("name").equals(chosen)).findFirst().orElseThrow();
      JsonObject input = new JsonObject();
      String text = prompt;
      spec.getJsonObject("inputSchema").getJsonObject("json").getJsonObject("properties", new JsonObject())
        .fieldNames().stream().findFirst().ifPresent(p -> input.put(p, text));
      JsonObject use = new JsonObject().put("toolUse", new JsonObject().put("toolUseId", "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q")
        .put("name", spec.getString("name")).put("input", input));
      return choice.containsKey("auto") ? List.of(new JsonObject().put("text", TOOL_INTRO), use) : List.of(use);
    }
    if (!images.isEmpty()) {
      return List.of(new JsonObject().put("text", "I see an image " + String.join(" and an image ", images) + "."));
    }
    return List.of(new JsonObject().put("text", String.join("", DELTAS)));
  }

  /** One event-stream frame of ConverseStream, with the padding field Bedrock adds to its payloads. */
  private static Buffer event(String type, JsonObject payload) {
    Map<String, HeaderValue> headers = new LinkedHashMap<>();
    headers.put(":event-type", HeaderValue.fromString(type));
    headers.put(":content-type", HeaderValue.fromString("application/json"));
    headers.put(":message-type", HeaderValue.fromString("event"));
    byte[] bytes = payload.copy().put("p", "abcdefghijklmnopqrstuvwxyzABCDEF".substring(0, 5 + type.length()))
      .encode().getBytes(StandardCharsets.UTF_8);
    java.nio.ByteBuffer encoded = new Message(headers, bytes).toByteBuffer();
    byte[] frame = new byte[encoded.remaining()];
    encoded.get(frame);
    return Buffer.buffer(frame);
  }

  /** An exception frame, as ConverseStream sends one in the middle of a stream. */
  private static Buffer exception(String type, String message) {
    Map<String, HeaderValue> headers = new LinkedHashMap<>();
    headers.put(":exception-type", HeaderValue.fromString(type));
    headers.put(":content-type", HeaderValue.fromString("application/json"));
    headers.put(":message-type", HeaderValue.fromString("exception"));
    java.nio.ByteBuffer encoded = new Message(headers, new JsonObject().put("message", message).encode()
      .getBytes(StandardCharsets.UTF_8)).toByteBuffer();
    byte[] frame = new byte[encoded.remaining()];
    encoded.get(frame);
    return Buffer.buffer(frame);
  }

  private static void error(HttpServerResponse response, int status, String type, String message) {
    response.setStatusCode(status).putHeader("content-type", "application/json")
      .putHeader("x-amzn-ErrorType", type + ":http://internal.amazon.com/coral/com.amazon.bedrock/")
      .end(new JsonObject().put("message", message).encode());
  }
}
