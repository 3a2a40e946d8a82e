package io.switchboard.connection;

import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The frame rules of RFC 6455 the WebSocket codec leaves to the application, for the chat protocol (JSON text):
 * a binary frame closes the socket with 1003, text that is not UTF-8 with 1007 (checked across fragments), a frame
 * the codec found corrupt (RSV bits without an extension, bad opcode or masking) with 1002, one too big with 1009.
 */
final class WebSocketFrames {
  static final short UNSUPPORTED_DATA = 1003;
  static final short INVALID_PAYLOAD = 1007;
  static final short PROTOCOL_ERROR = 1002;

  private final ServerWebSocket socket;
  /** Made on the first text frame: an idle socket never needs one. */
  private CharsetDecoder utf8;
  /** The end of the previous fragment when it split a character (null: none). */
  private ByteBuffer carry;
  private boolean inText;
  private boolean refused;

  WebSocketFrames(ServerWebSocket socket) {
    this.socket = socket;
  }

  /** True once a frame broke the rules: the socket is closing, nothing more it sent counts. */
  boolean refused() {
    return refused;
  }

  void check(WebSocketFrame frame) {
    if (refused) {
      return;
    }
    if (frame.isBinary() || frame.isContinuation() && !inText) {
      refuse(UNSUPPORTED_DATA, "binary frames are not part of the chat protocol: send JSON text");
      return;
    }
    if (frame.isText() || frame.isContinuation()) {
      inText = !frame.isFinal();
      if (!validUtf8(frame.binaryData().getBytes(), frame.isFinal())) {
        refuse(INVALID_PAYLOAD, "text frames must be UTF-8");
      }
    }
  }

  /** The codec's verdict on a frame it could not read. */
  void failed(Throwable failure) {
    if (failure instanceof CorruptedWebSocketFrameException corrupt) {
      short code = (short) corrupt.closeStatus().code();
      refuse(code == INVALID_PAYLOAD || code == 1009 ? code : PROTOCOL_ERROR, "protocol error");
    }
  }

  private boolean validUtf8(byte[] bytes, boolean last) {
    if (utf8 == null) {
      utf8 = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    }
    ByteBuffer in = carry == null ? ByteBuffer.wrap(bytes)
      : ByteBuffer.allocate(carry.remaining() + bytes.length).put(carry).put(bytes).flip();
    CharBuffer out = CharBuffer.allocate(in.remaining());
    CoderResult result = utf8.decode(in, out, last);
    if (result.isError()) {
      return false;
    }
    if (last) {
      boolean whole = !in.hasRemaining() && !utf8.flush(out).isError();
      utf8.reset();
      carry = null;
      return whole;
    }
    carry = in.hasRemaining() ? ByteBuffer.allocate(in.remaining()).put(in).flip() : null;
    return true;
  }

  private void refuse(short code, String reason) {
    refused = true;
    if (!socket.isClosed()) {
      socket.close(code, reason);
    }
  }
}
