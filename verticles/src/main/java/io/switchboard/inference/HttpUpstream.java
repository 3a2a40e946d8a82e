package io.switchboard.inference;

import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.EmbeddingRequest;
import io.switchboard.bus.EmbeddingResult;
import io.switchboard.bus.TranscriptionRequest;
import io.switchboard.bus.TranscriptionResult;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.json.JsonText;
import io.switchboard.vertx.WriteQueues;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.streams.ReadStream;

/**
 * The one HTTP skeleton every provider protocol shares: a key from the deployment's pool, a slot of its connection
 * pool ({@link UpstreamSlots}: a bounded, deadlined wait when every slot is taken), one POST, cancel by
 * resetting the request, a streamed answer through {@link StreamRelay}, a whole one read at once, and an error
 * status turned into an {@link UpstreamFailure} (a refused key leaves the pool, a rate-limited one rests).
 * A protocol says only what its request looks like and how to read its answer.
 */
abstract class HttpUpstream implements Upstream {
  private static final String JSON = "application/json";
  /** Header values sent with every call, made once as ASCII strings (their bytes are copied as they are). */
  private static final CharSequence EVENT_STREAM = HttpHeaders.createOptimized("text/event-stream");
  private static final CharSequence ANY = HttpHeaders.createOptimized("*/*");
  protected final Deployment deployment;
  private final HttpClientAgent client;
  private final UpstreamSlots slots;
  private final KeyPool keys;
  /** The call's URL taken apart once, not on every request (the config only lets http(s) URLs through). */
  private final Target callTarget;
  /** A streamed call's, where the protocol has another endpoint for streams (Gemini, Bedrock). */
  private final Target streamTarget;
  /** The embeddings endpoint's, taken apart on first use. */
  private Target embeddingsTarget;
  /** The transcriptions endpoint's, taken apart on first use. */
  private Target transcriptionsTarget;

  /** Where a request goes: an absolute URL's parts. */
  private record Target(String host, int port, boolean ssl, String uri) {
    static Target of(String url) {
      java.net.URI parsed = java.net.URI.create(url);
      boolean ssl = "https".equalsIgnoreCase(parsed.getScheme());
      String uri = parsed.getRawPath() == null || parsed.getRawPath().isEmpty() ? "/" : parsed.getRawPath();
      if (parsed.getRawQuery() != null) {
        uri += "?" + parsed.getRawQuery();
      }
      return new Target(parsed.getHost(), parsed.getPort() > 0 ? parsed.getPort() : ssl ? 443 : 80, ssl, uri);
    }

    void applyTo(RequestOptions options) {
      options.setHost(host).setPort(port).setSsl(ssl).setURI(uri);
    }
  }

  HttpUpstream(Deployment deployment, String url, HttpClientAgent client, UpstreamSlots slots) {
    this(deployment, url, url, client, slots);
  }

  HttpUpstream(Deployment deployment, String url, String streamUrl, HttpClientAgent client, UpstreamSlots slots) {
    this.deployment = deployment;
    this.callTarget = Target.of(url);
    this.streamTarget = streamUrl.equals(url) ? callTarget : Target.of(streamUrl);
    this.client = client;
    this.slots = slots;
    this.keys = new KeyPool(deployment.id(), deployment.apiKeys());
  }

  /** The protocol's headers, with the key when the deployment has keys ({@code key} null otherwise). */
  protected abstract void headers(RequestOptions options, String key);

  /** The request body; an {@link UpstreamFailure} when the turn cannot be said in this protocol. */
  protected abstract Buffer body(ChatRequest request);

  protected abstract StreamRelay.Reader streamReader(ChatRequest request, Chunks chunks);

  /** A stream's records as its reader takes them: lines of server-sent events, unless the protocol is binary. */
  protected ReadStream<Buffer> records(HttpClientResponse response) {
    return new Lines(response);
  }

  /**
   * The last step before a request is sent, with its headers and body final: where a protocol signs requests
   * (Bedrock's SigV4), which may have to wait for credentials. {@code key} is the pool's key, null when none.
   */
  protected Future<Void> sign(RequestOptions options, Buffer body, String key) {
    return Future.succeededFuture();
  }

  /** The whole answer as the client's {@code chat.completion}; an {@link UpstreamFailure} when it is not one. */
  protected abstract ChatResult completion(ChatRequest request, Buffer body);

  @Override
  public Future<Void> close() {
    return client.close();
  }

  /**
   * The protocol's embeddings endpoint ({@code POST {base}/embeddings}); null when it has none, and an embeddings
   * call is refused.
   */
  protected String embeddingsUrl() {
    return null;
  }

  /**
   * The protocol's audio transcriptions endpoint ({@code POST {base}/audio/transcriptions}, multipart); null when it
   * has none, and a transcription is refused.
   */
  protected String transcriptionsUrl() {
    return null;
  }

  @Override
  public final Future<ChatResult> call(ChatRequest request, Chunks chunks, CancelSignal cancel) {
    return post(request.stream() ? streamTarget : callTarget, JSON, request.stream(),
      () -> body(request), cancel,
      response -> request.stream()
      ? StreamRelay.relay(request, deployment.id(), records(response), cancel, streamReader(request, chunks))
      : response.body().map(answer -> completion(request, answer)));
  }

  @Override
  public final Future<EmbeddingResult> embed(EmbeddingRequest request, CancelSignal cancel) {
    String embeddings = embeddingsUrl();
    if (embeddings == null) {
      return Upstream.super.embed(request, cancel);
    }
    if (embeddingsTarget == null) {
      embeddingsTarget = Target.of(embeddings);
    }
    return post(embeddingsTarget, JSON, false, () -> request.upstreamBody(deployment.upstreamModel()), cancel,
      response -> response.body().map(answer -> OpenAiEmbeddings.read(request, deployment.id(), answer)));
  }

  @Override
  public final Future<TranscriptionResult> transcribe(TranscriptionRequest request, CancelSignal cancel) {
    String transcriptions = transcriptionsUrl();
    if (transcriptions == null) {
      return Upstream.super.transcribe(request, cancel);
    }
    if (transcriptionsTarget == null) {
      transcriptionsTarget = Target.of(transcriptions);
    }
    String boundary = OpenAiTranscriptions.boundary();
    return post(transcriptionsTarget, "multipart/form-data; boundary=" + boundary, false,
      () -> OpenAiTranscriptions.body(request, deployment.upstreamModel(), boundary), cancel,
      response -> response.body().map(answer -> OpenAiTranscriptions.read(request, deployment.id(),
        response.getHeader("content-type"), answer)));
  }

  /** One POST with a key from the pool; a 2xx answer is read by {@code answered}, any other becomes a failure. */
  private <T> Future<T> post(Target target, String contentType, boolean stream,
                             java.util.function.Supplier<Buffer> requestBody,
                             CancelSignal cancel, java.util.function.Function<HttpClientResponse, Future<T>> answered) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST)
      // bounds the wait inside the client too (connect, or a provider allowing fewer HTTP/2 streams than we assume)
      .setConnectTimeout(deployment.connectTimeoutMillis());
    target.applyTo(options);
    boolean json = contentType.equals(JSON);
    options
      .putHeader(HttpHeaders.CONTENT_TYPE, json ? JsonText.MEDIA_TYPE : contentType)
      .putHeader(HttpHeaders.ACCEPT, stream ? EVENT_STREAM : json ? JsonText.MEDIA_TYPE : ANY);
    int key = -1;
    Buffer body;
    try {
      if (keys.needsKeys()) {
        key = keys.acquire(System.currentTimeMillis());
      }
      headers(options, key < 0 ? null : keys.key(key));
      body = requestBody.get();
    } catch (UpstreamFailure refused) {
      return Future.failedFuture(refused);
    }
    int usedKey = key;
    Future<Void> signed = sign(options, body, key < 0 ? null : keys.key(key));
    return signed.compose(ready -> slots.acquire(cancel)).compose(slot -> client.request(options)
      .andThen(leased -> slot.leased())
      .compose(req -> {
        // an HTTP/2 stream's 4 KB write queue, held for as long as the stream is open; a JSON call's stream is
        // short-lived, its queue dies young, and linking it would only cost
        if (stream) {
          WriteQueues.link(req);
        }
        cancel.whenCancelled(req::reset);
        return req.send(body);
      })
      .<T>compose(response -> {
        if (response.statusCode() / 100 == 2) {
          return answered.apply(response);
        }
        return response.body().compose(errorBody -> {
          int status = status(response.statusCode(), errorBody);
          noteKeyTrouble(usedKey, status, response);
          if (status == 429 && usedKey >= 0 && keys.usable(System.currentTimeMillis()) > 0) {
            // only this key is limited: another try goes at once with the next key, the deployment does not rest
            return Future.failedFuture(UpstreamFailure.retryable(ApiError.upstreamFailed(
              "The model's provider rate limited one of the gateway's API keys.")));
          }
          return Future.failedFuture(HttpFailures.fromStatus(status, errorBody, response.getHeader("retry-after")));
        });
      })
      .andThen(done -> slot.release()))
      .recover(failure -> Future.failedFuture(failure instanceof UpstreamFailure ? failure
        : HttpFailures.unreachable()));
  }

  /**
   * What an error answer means, as an HTTP status: its own, unless the protocol says otherwise (Gemini answers a bad
   * API key with a 400).
   */
  protected int status(int status, Buffer errorBody) {
    return status;
  }

  private void noteKeyTrouble(int key, int status, HttpClientResponse response) {
    if (key < 0) {
      return;
    }
    if (status == 401 || status == 403) {
      keys.refused(key, status);
    } else if (status == 429) {
      keys.rateLimited(key, System.currentTimeMillis(), HttpFailures.retryAfterMillis(response.getHeader("retry-after")));
    }
  }
}
