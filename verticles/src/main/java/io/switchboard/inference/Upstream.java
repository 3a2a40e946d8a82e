package io.switchboard.inference;

import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.EmbeddingRequest;
import io.switchboard.bus.EmbeddingResult;
import io.switchboard.bus.TranscriptionRequest;
import io.switchboard.bus.TranscriptionResult;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;

/**
 * One provider protocol (OpenAI-compatible, Anthropic Messages, ...) for one deployment. An implementation
 * speaks the wire protocol only: timeouts, retries and breakers are the inference proxy's and routing's.
 */
interface Upstream {

  /** Where a stream's chunks go, one call per upstream chunk, in order. */
  interface Chunks {
    /**
     * @param data  the {@code chat.completion.chunk} JSON for the client (the gateway's id and model written in)
     * @param text  the content text it adds ("" when none)
     * @param flags what else it carries ({@link io.switchboard.bus.StreamChunk#TOOL_CALLS}, ...)
     */
    void chunk(Buffer data, String text, int flags);
  }

  /**
   * Sends one chat turn. For a stream, {@code chunks} receives each chunk as it arrives and the result's
   * {@code chunks} counts them; otherwise the result carries the whole completion. A failure is an
   * {@link UpstreamFailure}. When {@code cancel} fires, the upstream request is abandoned at once (its HTTP
   * request reset) and the future fails.
   */
  Future<ChatResult> call(ChatRequest request, Chunks chunks, CancelSignal cancel);

  /**
   * Sends one embeddings call; the result carries the client's whole answer. A failure is an
   * {@link UpstreamFailure}; a protocol without embeddings refuses the call (the client's 400).
   */
  default Future<EmbeddingResult> embed(EmbeddingRequest request, CancelSignal cancel) {
    return Future.failedFuture(UpstreamFailure.fatal(new ApiError(400, "invalid_request_error", "model_not_supported",
      "The model '" + request.model() + "' does not serve embeddings.", "model")));
  }

  /**
   * Sends one audio transcription; the result carries the client's whole answer. A failure is an
   * {@link UpstreamFailure}; a protocol without transcriptions refuses the call (the client's 400).
   */
  default Future<TranscriptionResult> transcribe(TranscriptionRequest request, CancelSignal cancel) {
    return Future.failedFuture(UpstreamFailure.fatal(new ApiError(400, "invalid_request_error", "model_not_supported",
      "The model '" + request.model() + "' does not serve audio transcriptions.", "model")));
  }

  Future<Void> close();

  /** The id every answer of this turn carries, whichever attempt or provider produced it. */
  static String completionId(ChatRequest request) {
    return io.switchboard.bus.ChatResult.completionId(request.requestId());
  }
}
