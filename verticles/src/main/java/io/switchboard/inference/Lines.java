package io.switchboard.inference;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.ReadStream;

/**
 * The lines of a byte stream (a server-sent event stream), split at {@code \n} and given without it, as
 * {@link io.vertx.core.parsetools.RecordParser#newDelimited} gives them — a last line without its newline is a line
 * too — but without its costs on every read: the newline is found by Netty's {@link ByteBuf#indexOf} (eight bytes
 * at a time), not byte by byte through {@link Buffer#getByte}'s checks, and a line that came whole in one read is a
 * slice of that read, not a copy. Only a line split across reads is copied, once. The reads it is given are the HTTP
 * client's own (copied off the connection's pooled buffers), so slices of them stay valid.
 * <p>
 * Flow control as the parser's: while paused, no line is given (the rest of a read waits) and the source is paused.
 * Used on its source's event loop.
 */
public final class Lines implements ReadStream<Buffer>, Handler<Buffer> {
  private static final byte LF = '\n';

  private final ReadStream<Buffer> source;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  /** What was read and not yet given as lines, from {@link #from} on; null when nothing. */
  private ByteBuf rest;
  private int from;
  private boolean paused;
  private boolean sourceEnded;
  private boolean ended;
  private boolean splitting;

  public Lines(ReadStream<Buffer> source) {
    this.source = source;
  }

  @Override
  public void handle(Buffer read) {
    if (read.length() == 0) {
      return;
    }
    ByteBuf bytes = ((BufferInternal) read).getByteBuf();
    if (rest != null) {
      // the start of a line from an earlier read (or a paused remainder): the one copy, of what is left of both
      int left = rest.writerIndex() - from;
      bytes = Unpooled.buffer(left + bytes.readableBytes()).writeBytes(rest, from, left).writeBytes(bytes);
    }
    rest = bytes;
    from = 0;
    split();
  }

  /** Gives the whole lines there are, while not paused; at the source's end, the last line and the end. */
  private void split() {
    if (splitting) {
      return; // a handler resumed us from inside a line: the loop below goes on
    }
    splitting = true;
    try {
      while (!paused && rest != null) {
        int newline = rest.indexOf(from, rest.writerIndex(), LF);
        if (newline < 0) {
          break;
        }
        emit(taken(newline, newline + 1));
      }
      if (sourceEnded && !paused && !ended) {
        if (rest != null) {
          emit(taken(rest.writerIndex(), rest.writerIndex()));
          if (paused) {
            return; // the end follows once resumed
          }
        }
        ended = true;
        Handler<Void> end = endHandler;
        if (end != null) {
          end.handle(null);
        }
      }
    } finally {
      splitting = false;
    }
  }

  /** The line from {@link #from} to {@code end}, as a slice; what is left starts at {@code next}. */
  private Buffer taken(int end, int next) {
    Buffer line = BufferInternal.buffer(rest.slice(from, end - from));
    if (next == rest.writerIndex()) {
      rest = null;
    } else {
      from = next;
    }
    return line;
  }

  private void emit(Buffer line) {
    Handler<Buffer> h = handler;
    if (h != null) {
      h.handle(line);
    }
  }

  @Override
  public Lines handler(Handler<Buffer> handler) {
    this.handler = handler;
    if (handler != null) {
      source.endHandler(v -> {
        sourceEnded = true;
        split();
      });
      source.exceptionHandler(e -> {
        Handler<Throwable> h = exceptionHandler;
        if (h != null) {
          h.handle(e);
        }
      });
      source.handler(this);
    } else {
      source.handler(null);
      source.endHandler(null);
      source.exceptionHandler(null);
    }
    return this;
  }

  @Override
  public Lines exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    return this;
  }

  @Override
  public Lines endHandler(Handler<Void> handler) {
    this.endHandler = handler;
    return this;
  }

  @Override
  public Lines pause() {
    if (!paused) {
      paused = true;
      if (!sourceEnded) {
        source.pause();
      }
    }
    return this;
  }

  @Override
  public Lines resume() {
    if (paused) {
      paused = false;
      split();
      if (!paused && !sourceEnded) {
        source.resume();
      }
    }
    return this;
  }

  /** Demand is all or nothing here (what the relay asks): any fetch resumes. */
  @Override
  public Lines fetch(long amount) {
    return resume();
  }
}
