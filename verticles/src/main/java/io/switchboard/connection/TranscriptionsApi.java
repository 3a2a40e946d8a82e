package io.switchboard.connection;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.TranscriptionRequest;
import io.switchboard.bus.TranscriptionResult;
import io.switchboard.chat.InvalidRequest;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.governance.Caller;
import io.switchboard.governance.Governance;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * {@code POST /v1/audio/transcriptions}: the client's multipart form read into memory as it arrives (the audio
 * bounded by {@code server.max_audio_bytes}, a 413 beyond it; nothing goes to disk), checked for what OpenAI's API
 * accepts, admitted like a chat turn (allow-lists, the key's and tenant's request limits), routed by its model like
 * one (deployments, retries, fallbacks, breakers, key pools), and the upstream's answer relayed as it wrote it, JSON
 * or text. Every form field the gateway does not read goes upstream as it came; the audio byte for byte.
 */
final class TranscriptionsApi {
  static final Set<String> FORMATS = Set.of("json", "text", "srt", "verbose_json", "vtt", "diarized_json");
  /** Room for the form's text fields and framing on top of the audio in a declared Content-Length. */
  private static final long FORM_MARGIN_BYTES = 65_536;
  private static final String FORM = "transcription.form";

  /** The form as read: its text fields in order, and its one file. */
  private record Form(JsonArray fields, Buffer file, String fileName, String fileType, int files) {
  }

  private final MeterRegistry registry;
  private final SwitchboardConfig.Server settings;
  private final BiConsumer<RoutingContext, Throwable> fail;
  private final WholeAnswers answers;
  private final Governance governance;
  /** Seconds of audio per public model, as the upstream billed them, looked up once per model. */
  private final Map<String, Counter> seconds = new HashMap<>();

  /** @param record writes the access log line and request metrics for a finished request */
  TranscriptionsApi(Vertx vertx, MeterRegistry registry, SwitchboardConfig.Server settings,
                    BiConsumer<RoutingContext, Throwable> fail, BiConsumer<RoutingContext, Integer> record,
                    Governance governance) {
    this.registry = registry;
    this.settings = settings;
    this.fail = fail;
    this.answers = new WholeAnswers(vertx, record);
    this.governance = governance;
  }

  void mount(Router router, Handler<RoutingContext> authenticate) {
    router.post("/v1/audio/transcriptions")
      .handler(this::readForm)
      .handler(authenticate)
      .handler(this::transcribe);
  }

  /** Reads the multipart form into memory, refusing (413) audio over the limit as soon as it is seen. */
  private void readForm(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String type = request.getHeader("content-type");
    if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
      fail.accept(ctx, InvalidRequest.of("The request must be multipart/form-data with the audio as 'file'; its "
        + "Content-Type is " + (type == null ? "missing" : "'" + type + "'") + ".", null).error().toException());
      return;
    }
    long limit = settings.maxAudioBytes();
    String declared = request.getHeader("content-length");
    if (declared != null && parsed(declared) > limit + FORM_MARGIN_BYTES) {
      fail.accept(ctx, tooLarge(limit).toException());
      return;
    }
    if ("100-continue".equalsIgnoreCase(request.getHeader("expect"))) {
      request.response().writeContinue(); // curl asks before uploading more than 1 MB; a refusal came above instead
    }
    request.setExpectMultipart(true);
    Buffer file = Buffer.buffer();
    String[] name = new String[2];
    int[] files = new int[1];
    boolean[] refused = new boolean[1];
    request.uploadHandler(upload -> {
      boolean audio = upload.name().equals("file");
      if (audio) {
        files[0]++;
      }
      if (!audio || files[0] > 1) {
        upload.handler(chunk -> { }); // a second file is refused once the form is read; other parts are not ours
        return;
      }
      name[0] = upload.filename();
      name[1] = upload.contentType();
      upload.handler(chunk -> {
        if (refused[0]) {
          return;
        }
        if (file.length() + (long) chunk.length() > limit) {
          refused[0] = true;
          fail.accept(ctx, tooLarge(limit).toException());
        } else {
          file.appendBuffer(chunk);
        }
      });
    });
    request.exceptionHandler(failure -> {
      if (!refused[0]) {
        refused[0] = true;
        fail.accept(ctx, InvalidRequest.of("The multipart form could not be read.", null).error().toException());
      }
    });
    request.endHandler(end -> {
      if (refused[0]) {
        return;
      }
      JsonArray fields = new JsonArray();
      request.formAttributes().forEach(field -> fields.add(new JsonArray().add(field.getKey()).add(field.getValue())));
      ctx.put(FORM, new Form(fields, file, name[0], name[1], files[0]));
      ctx.next();
    });
    request.resume();
  }

  private void transcribe(RoutingContext ctx) {
    Form form = ctx.get(FORM);
    String model;
    JsonArray fields;
    try {
      model = checked(form);
      fields = new JsonArray();
      for (Object field : form.fields()) {
        if (!((JsonArray) field).getString(0).equals("model")) {
          fields.add(field);
        }
      }
    } catch (InvalidRequest refused) {
      fail.accept(ctx, refused.error().toException());
      return;
    }
    ctx.put("model", ChatRules.echoed(model));
    Caller caller = ctx.get(ConnectionVerticle.CALLER);
    String requestId = ctx.get(ConnectionVerticle.REQUEST_ID);
    TranscriptionRequest request = new TranscriptionRequest(requestId, caller.tenant(), model, fields, form.file(),
      form.fileName(), form.fileType(), settings.requestTimeoutMillis(), caller.priority());
    answers.cancelWhenClientLeaves(ctx.response(), requestId);
    governance.admit(caller, model, List.of(), null, ConnectionVerticle.rateLimitHeaders(ctx.response()))
      .compose(admission -> answers.<TranscriptionResult>route(Addresses.ROUTING_TRANSCRIPTIONS, request)
        .andThen(done -> governance.settle(admission, null, false)))
      .onSuccess(reply -> {
        TranscriptionResult result = reply.body();
        if (result.usage() != null && "duration".equals(result.usage().getString("type"))
          && result.usage().getValue("seconds") instanceof Number billed) {
          seconds.computeIfAbsent(model, m -> Counter.builder("switchboard.audio.seconds")
            .description("Seconds of audio transcribed, as the upstream billed them").tag("model", m)
            .register(registry)).increment(billed.doubleValue());
        }
        answers.relay(ctx, result.deployment(), result.contentType(), result.response());
      })
      .onFailure(failure -> fail.accept(ctx, failure));
  }

  /** The public model when the form is a transcription OpenAI's API would accept; an {@link InvalidRequest} else. */
  private static String checked(Form form) {
    if (form.files() == 0 || form.file().length() == 0) {
      throw InvalidRequest.of("'file' is required: the audio, as a file part of the form.", "file");
    }
    if (form.files() > 1) {
      throw InvalidRequest.of("'file' must be one file; the form has " + form.files() + ".", "file");
    }
    if (form.fileName() == null || form.fileName().isBlank()) {
      throw InvalidRequest.of("'file' needs a file name: its extension says the audio's format.", "file");
    }
    String model = first(form, "model");
    if (model == null || model.isBlank()) {
      throw InvalidRequest.of("'model' is required.", "model");
    }
    String format = first(form, "response_format");
    if (format != null && !FORMATS.contains(format)) {
      throw InvalidRequest.of("'response_format' must be one of json, text, srt, verbose_json, vtt, diarized_json.",
        "response_format");
    }
    String temperature = first(form, "temperature");
    if (temperature != null) {
      double value;
      try {
        value = Double.parseDouble(temperature);
      } catch (NumberFormatException e) {
        value = Double.NaN;
      }
      if (!(value >= 0 && value <= 1)) {
        throw InvalidRequest.of("'temperature' must be a number between 0 and 1.", "temperature");
      }
    }
    if ("true".equalsIgnoreCase(first(form, "stream"))) {
      throw InvalidRequest.of("Streamed transcriptions are not supported by this gateway; leave 'stream' out.",
        "stream");
    }
    return model;
  }

  private static String first(Form form, String name) {
    for (Object field : form.fields()) {
      JsonArray pair = (JsonArray) field;
      if (pair.getString(0).equals(name)) {
        return pair.getString(1);
      }
    }
    return null;
  }

  private static ApiError tooLarge(long limit) {
    return new ApiError(413, "invalid_request_error", "request_too_large",
      "The audio file is larger than the limit of " + limit + " bytes.", "file");
  }

  private static long parsed(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
