package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.List;

/** A conversation's stored turns, oldest first. */
public record History(List<ChatMessage> messages) {
  public static final RecordCodec<History> CODEC = new RecordCodec<>(History.class, History::write, History::read);
  public static final History EMPTY = new History(List.of());

  public History {
    messages = List.copyOf(messages);
  }

  private static void write(Buffer buffer, History h) {
    Wire.writeList(buffer, h.messages, ChatMessage::write);
  }

  private static History read(Wire.Reader in) {
    return new History(in.readList(ChatMessage::read));
  }
}
