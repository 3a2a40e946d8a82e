package io.switchboard.bus;

import io.vertx.core.eventbus.EventBus;

import java.util.List;

/** Every record codec; registered once per node, where Vert.x starts, before any verticle is deployed. */
public final class Codecs {
  public static final List<RecordCodec<?>> ALL = List.of(
    ChatRequest.CODEC, StreamChunk.CODEC, StreamBurst.CODEC, ChatResult.CODEC, HistoryQuery.CODEC, History.CODEC,
    HistoryAppend.CODEC, ModelCatalog.CODEC, StreamGrant.CODEC, CancelTurn.CODEC,
    IdentityQuery.CODEC, IdentityLink.CODEC, StreamFlow.CODEC,
    AttemptStarted.CODEC, StreamProgress.CODEC, PromptQuery.CODEC,
    EmbeddingRequest.CODEC, EmbeddingResult.CODEC, TranscriptionRequest.CODEC, TranscriptionResult.CODEC);

  private Codecs() {
  }

  public static void registerAll(EventBus bus) {
    for (RecordCodec<?> codec : ALL) {
      register(bus, codec);
    }
  }

  private static <T> void register(EventBus bus, RecordCodec<T> codec) {
    bus.registerDefaultCodec(codec.type(), codec);
  }
}
