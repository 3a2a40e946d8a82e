package io.switchboard.inference;

import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.vertx.core.Future;

import java.util.function.Consumer;

/**
 * One provider protocol (OpenAI-compatible, Anthropic Messages, ...) for one deployment. An implementation
 * speaks the wire protocol only: timeouts, retries and breakers are the inference proxy's and routing's.
 */
interface Upstream {

  /**
   * Sends one chat turn. For a stream, {@code onDelta} receives each piece of text as it arrives and the
   * result's {@code chunks} counts them; otherwise the result carries the whole answer. A failure is an
   * {@link UpstreamFailure}. When {@code cancel} fires, the upstream request is abandoned at once (its HTTP
   * request reset) and the future fails.
   */
  Future<ChatResult> call(ChatRequest request, Consumer<String> onDelta, CancelSignal cancel);

  Future<Void> close();
}
