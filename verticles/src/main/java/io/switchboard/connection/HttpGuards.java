package io.switchboard.connection;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtension;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.switchboard.bus.ApiError;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.impl.Http1xOrH2CHandler;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.net.ClientOptionsBase;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.transport.Transport;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * What the HTTP/1.x codec does not enforce, on every connection of the ports {@link #protect} names (API and
 * management):
 * <ul>
 *   <li>request framing (RFC 9112 §6): Content-Length together with Transfer-Encoding is a 400 and the connection is
 *   closed (nothing pipelined behind it is read); a transfer coding other than {@code chunked} is a 501;</li>
 *   <li>every request the codec cannot read (bad framing, a line or headers too long) gets an OpenAI-shaped JSON error
 *   with its status (400, 414, 431) before the close, instead of an empty body or a silent close; CONNECT gets 405;</li>
 *   <li>a header-read timeout (a request's head must arrive whole this soon after its first byte, or after the
 *   connection opened: 408) and an idle timeout (a keep-alive connection with no request in flight is closed). Neither
 *   applies once a connection is upgraded (WebSocket, h2c), nor while a response streams;</li>
 *   <li>on a WebSocket, a frame with RSV bits no negotiated extension defines is closed with 1002 (the codec, told
 *   extensions may be used, lets them through; with {@code server.websocket_compression} off, the default, the codec
 *   refuses them itself, with the same code).</li>
 * </ul>
 * Vert.x creates its HTTP connection only once a first request head has arrived (it waits to see whether the
 * client speaks HTTP/2), so a hook on the connection comes too late for a half-sent request. The guards are put in
 * each accepted channel's Netty pipeline instead, by the {@link #transport} every node's Vert.x runs on.
 */
public final class HttpGuards {
  private static final Logger LOG = LoggerFactory.getLogger(HttpGuards.class);
  private static final String DECODER = "httpDecoder";
  private static final String ENCODER = "httpEncoder";
  private static final String GUARD = "switchboardGuard";
  private static final String RAW = "switchboardBytes";
  /** The longest prefix Vert.x reads to tell HTTP/2 with prior knowledge from HTTP/1.x. */
  private static final int PREFACE_BYTES = Http1xOrH2CHandler.HTTP_2_PREFACE.length();
  private static final Map<Integer, Limits> PROTECTED = new ConcurrentHashMap<>();

  /**
   * The transport a node runs on (see {@code server.transport}), with the guards installed on connections to protected
   * ports: {@code auto} is epoll where its native library loads (Linux x86-64), else NIO; a native transport asked for
   * by name that cannot load is an error, not a silent fallback.
   */
  public static Transport transport(String name) {
    Transport chosen = switch (name) {
      case "nio" -> Transport.NIO;
      case "epoll" -> Transport.EPOLL;
      case "io_uring" -> Transport.IO_URING;
      default -> Transport.EPOLL != null && Transport.EPOLL.available() ? Transport.EPOLL : Transport.NIO;
    };
    if (chosen == null || !chosen.available()) {
      Throwable cause = chosen == null ? null : chosen.unavailabilityCause();
      throw new IllegalStateException("server.transport " + name + " cannot be used on this machine"
        + (cause == null ? "" : ": " + cause.getMessage()), cause);
    }
    return new GuardedTransport(chosen.name(), chosen.implementation());
  }

  private record Limits(HttpServerOptions options, long headerReadTimeoutMillis, long idleTimeoutMillis) {
  }

  private HttpGuards() {
  }

  /**
   * Guards every connection to {@code port} from now on ({@code options} are the server's, for its codec limits). A
   * port of 0 (any free port) cannot be named before it is bound, so it is not guarded.
   */
  public static HttpServer protect(HttpServer server, HttpServerOptions options, int port, long headerReadTimeoutMillis,
                                   long idleTimeoutMillis) {
    if (port > 0) {
      PROTECTED.put(port, new Limits(options, headerReadTimeoutMillis, idleTimeoutMillis));
    }
    return server;
  }

  /**
   * Why {@code /v1/ws} cannot become a WebSocket, or null when the request asks for one properly: without an
   * upgrade 426 (with {@code Upgrade: websocket}), with a version other than 13 426, without a key 400.
   */
  static ApiError webSocketRefusal(HttpServerRequest request) {
    String upgrade = request.getHeader("upgrade");
    if (upgrade == null || !upgrade.equalsIgnoreCase("websocket")
      || request.version() != io.vertx.core.http.HttpVersion.HTTP_1_1) {
      request.response().putHeader("upgrade", "websocket");
      return new ApiError(426, "invalid_request_error", "upgrade_required",
        "/v1/ws is a WebSocket: send an HTTP/1.1 GET with 'Upgrade: websocket' (see the README, 'WebSocket chat').",
        null);
    }
    String version = request.getHeader("sec-websocket-version");
    if (!"13".equals(version)) {
      request.response().putHeader("sec-websocket-version", "13");
      return new ApiError(426, "invalid_request_error", "upgrade_required",
        "Only WebSocket version 13 is supported.", null);
    }
    String key = request.getHeader("sec-websocket-key");
    String connection = request.getHeader("connection");
    if (key == null || key.isBlank() || connection == null || !connection.toLowerCase().contains("upgrade")) {
      return ApiError.badRequest("A WebSocket upgrade needs 'Connection: Upgrade' and a 'Sec-WebSocket-Key'.", null);
    }
    return null;
  }

  /**
   * Errors the router itself raises, in OpenAI's shape: 404 for an unknown path, 405 with {@code Allow} for a path
   * that exists under other methods, 400 for a request it cannot route.
   */
  public static void jsonErrors(Router router, BiConsumer<RoutingContext, ApiError> fail) {
    router.errorHandler(404, ctx -> fail.accept(ctx, ApiError.notFound(
      "Unknown path " + ctx.request().method() + " " + path(ctx) + ".")));
    router.errorHandler(400, ctx -> fail.accept(ctx, ApiError.badRequest("The request could not be read.", null)));
    router.errorHandler(405, ctx -> {
      // the router adds Allow itself only when no handler is set for 405
      ctx.response().putHeader("allow", allowedMethods(router, ctx.normalizedPath()));
      fail.accept(ctx, new ApiError(405, "invalid_request_error", "method_not_allowed",
        "Method " + ctx.request().method() + " is not allowed on " + path(ctx) + ".", null));
    });
  }

  /** The methods the router's routes accept on {@code path}, as an Allow header lists them. */
  static String allowedMethods(Router router, String path) {
    Set<String> allowed = new TreeSet<>();
    for (Route route : router.getRoutes()) {
      Set<io.vertx.core.http.HttpMethod> methods = route.methods();
      if (methods != null && !methods.isEmpty() && route.getPath() != null && matches(route.getPath(), path)) {
        methods.forEach(m -> allowed.add(m.name()));
      }
    }
    if (allowed.contains("GET")) {
      allowed.add("HEAD");
    }
    return String.join(", ", allowed);
  }

  private static boolean matches(String template, String path) {
    String[] want = template.split("/", -1);
    String[] got = path.split("/", -1);
    for (int i = 0; i < want.length; i++) {
      if (want[i].equals("*") && i == want.length - 1) {
        return true;
      }
      if (i >= got.length || !(want[i].startsWith(":") && !got[i].isEmpty() || want[i].equals(got[i]))) {
        return false;
      }
    }
    return want.length == got.length;
  }

  /** What a client sent, cut to a length that is safe to echo in an error or a log line. */
  static String bounded(String clientText, int maxChars) {
    if (clientText == null || clientText.length() <= maxChars) {
      return clientText;
    }
    return clientText.substring(0, maxChars) + "…";
  }

  /** The path of a request as errors may echo it. */
  public static String path(RoutingContext ctx) {
    return bounded(ctx.normalizedPath(), 128);
  }

  /** The codec Vert.x uses, told to flag (not quietly drop) a Content-Length sent together with Transfer-Encoding. */
  private static final class FramingDecoder extends VertxHttpRequestDecoder {
    FramingDecoder(HttpServerOptions options) {
      super(options);
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
      super.handleTransferEncodingChunkedWithContentLength(message);
      message.setDecoderResult(DecoderResult.failure(new FramingViolation()));
    }
  }

  private static final class FramingViolation extends IllegalArgumentException {
    FramingViolation() {
      super("Content-Length and Transfer-Encoding together", null);
    }
  }

  /** A Vert.x transport (NIO, epoll, io_uring) whose HTTP servers' accepted channels pass {@link Acceptor} first. */
  private static final class GuardedTransport implements Transport, io.vertx.core.spi.transport.Transport {
    private final String name;
    private final io.vertx.core.spi.transport.Transport inner;

    GuardedTransport(String name, io.vertx.core.spi.transport.Transport inner) {
      this.name = name;
      this.inner = inner;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public boolean available() {
      return true;
    }

    @Override
    public Throwable unavailabilityCause() {
      return null;
    }

    @Override
    public io.vertx.core.spi.transport.Transport implementation() {
      return this;
    }

    @Override
    public boolean supportsDomainSockets() {
      return inner.supportsDomainSockets();
    }

    @Override
    public boolean supportFileRegion() {
      return inner.supportFileRegion();
    }

    @Override
    public SocketAddress convert(io.vertx.core.net.SocketAddress address) {
      return inner.convert(address);
    }

    @Override
    public io.vertx.core.net.SocketAddress convert(SocketAddress address) {
      return inner.convert(address);
    }

    @Override
    public IoHandlerFactory ioHandlerFactory() {
      return inner.ioHandlerFactory();
    }

    @Override
    public EventLoopGroup eventLoopGroup(int type, int threads, ThreadFactory factory, int ioRatio) {
      return inner.eventLoopGroup(type, threads, factory, ioRatio);
    }

    @Override
    public DatagramChannel datagramChannel() {
      return inner.datagramChannel();
    }

    @Override
    public DatagramChannel datagramChannel(InternetProtocolFamily family) {
      return inner.datagramChannel(family);
    }

    @Override
    public ChannelFactory<? extends Channel> channelFactory(boolean domainSocket) {
      return inner.channelFactory(domainSocket);
    }

    @Override
    public ChannelFactory<? extends ServerChannel> serverChannelFactory(boolean domainSocket) {
      return inner.serverChannelFactory(domainSocket);
    }

    @Override
    public void configure(DatagramChannel channel, DatagramSocketOptions options) {
      inner.configure(channel, options);
    }

    @Override
    public void configure(ClientOptionsBase options, int connectTimeout, boolean domainSocket, Bootstrap bootstrap) {
      inner.configure(options, connectTimeout, domainSocket, bootstrap);
    }

    @Override
    public void configure(NetServerOptions options, boolean domainSocket, ServerBootstrap bootstrap) {
      inner.configure(options, domainSocket, bootstrap);
      if (options instanceof HttpServerOptions && !domainSocket) {
        bootstrap.handler(Acceptor.INSTANCE); // Vert.x sets only child handlers: the server channel's is free
      }
    }
  }

  /** On an HTTP server's listening channel: puts the guard first in the pipeline of each connection to a protected port. */
  @ChannelHandler.Sharable
  private static final class Acceptor extends ChannelInboundHandlerAdapter {
    static final Acceptor INSTANCE = new Acceptor();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Channel child && child.localAddress() instanceof InetSocketAddress local) {
        Limits limits = PROTECTED.get(local.getPort());
        if (limits != null) {
          child.pipeline().addFirst(RAW, new Guard(limits).raw);
        }
      }
      ctx.fireChannelRead(msg);
    }
  }

  private enum State { IDLE, HEAD, BUSY, CLOSING, OFF }

  /**
   * One per connection, in two places: {@link #raw} first in the pipeline (sees bytes: starts the header clock, writes
   * refusals straight to the socket), and the guard itself after the HTTP codec (sees requests as decoded and
   * responses on their way out).
   */
  private static final class Guard extends ChannelDuplexHandler {
    private final Limits limits;
    final ChannelInboundHandlerAdapter raw = new ChannelInboundHandlerAdapter() {
      @Override
      public void handlerAdded(ChannelHandlerContext ctx) {
        rawCtx = ctx;
        arm(limits.headerReadTimeoutMillis()); // a new connection is there to send a request: its head is due
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf) || state == State.OFF) {
          ctx.fireChannelRead(msg);
          return;
        }
        if (state == State.CLOSING) {
          buf.release(); // nothing after a refused request is read: it could be smuggled
          return;
        }
        if (state == State.IDLE && buf.isReadable()) {
          state = State.HEAD;
          arm(limits.headerReadTimeoutMillis());
        }
        if (!codecSwapped) {
          firstBytes(ctx, buf);
          return;
        }
        ctx.fireChannelRead(msg);
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        state = State.OFF;
        disarm();
        stopClock();
        ctx.fireChannelInactive();
      }

      @Override
      public void handlerRemoved(ChannelHandlerContext ctx) {
        disarm();
        stopClock();
      }
    };
    private ChannelHandlerContext rawCtx;
    private boolean codecSwapped;
    private State state = State.HEAD;
    private boolean responding;
    /** Requests read whose response has not ended (more than one when a client pipelines). */
    private int inFlight;
    /**
     * The one clock of this connection: it fires no later than {@link #due} and, when the deadline moved on meanwhile,
     * sets itself for what is left. A request cycle (idle, head, busy, idle) only moves the deadline: it schedules
     * nothing, cancels nothing.
     */
    private ScheduledFuture<?> timer;
    /** When {@link #timer} fires ({@link System#nanoTime}). */
    private long timerDue;
    /** The deadline armed now ({@link System#nanoTime}); meaningless unless {@link #armed}. */
    private long due;
    private boolean armed;

    Guard(Limits limits) {
      this.limits = limits;
    }

    /**
     * Until Vert.x has chosen HTTP/1.x (it does on the first byte that is not the HTTP/2 preface) bytes go one by one;
     * then, before any request was decoded, its codec is swapped for the framing-checking one and the guard put after it.
     */
    private void firstBytes(ChannelHandlerContext ctx, ByteBuf buf) {
      ChannelPipeline pipeline = ctx.pipeline();
      int fed = 0;
      while (buf.isReadable() && pipeline.get(DECODER) == null && pipeline.get(Http1xOrH2CHandler.class) != null
        && fed < PREFACE_BYTES) {
        ctx.fireChannelRead(buf.readRetainedSlice(1));
        fed++;
      }
      if (pipeline.get(DECODER) != null) {
        // the codec holds at most the first bytes of the request line: the replacement is handed them
        pipeline.replace(DECODER, DECODER, new FramingDecoder(limits.options()));
        pipeline.addAfter(pipeline.get(ENCODER) != null ? ENCODER : DECODER, GUARD, this);
        codecSwapped = true;
      } else {
        off(); // HTTP/2 with prior knowledge: its codec frames requests itself
      }
      if (buf.isReadable()) {
        ctx.fireChannelRead(buf);
      } else {
        buf.release();
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (state == State.CLOSING) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (msg instanceof WebSocketFrame frame && !extensionAllows(ctx, frame.rsv())) {
        // RFC 6455 §5.2: RSV bits only with an extension that defines them (the codec lets them through)
        state = State.CLOSING;
        frame.release();
        ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.PROTOCOL_ERROR, "RSV bits without an extension"))
          .addListener(ChannelFutureListener.CLOSE);
        return;
      }
      if (state == State.OFF || !(msg instanceof HttpObject http)) {
        if (state != State.OFF && ctx.pipeline().get(DECODER) == null) {
          off(); // upgraded to HTTP/2 (h2c)
        }
        ctx.fireChannelRead(msg);
        return;
      }
      DecoderResult result = http.decoderResult();
      if (result.isFailure()) {
        ReferenceCountUtil.release(msg);
        refuse(unreadable(result.cause()));
        return;
      }
      if (msg instanceof HttpRequest request) {
        ApiError refusal = refusal(request);
        if (refusal != null) {
          ReferenceCountUtil.release(msg);
          refuse(refusal);
          return;
        }
        disarm();
        state = State.BUSY;
        inFlight++;
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (state != State.OFF && state != State.CLOSING) {
        if (msg instanceof HttpResponse response) {
          HttpResponseStatus status = response.status();
          if (status.code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
            off(); // a WebSocket or HTTP/2 from here on: their own rules apply
          } else if (status.codeClass() == HttpStatusClass.INFORMATIONAL) {
            ctx.write(msg, promise); // 100-continue: the real answer is still to come
            return;
          } else {
            responding = true;
          }
        }
        if (state != State.OFF && responding && msg instanceof LastHttpContent) {
          responding = false;
          if (--inFlight <= 0) {
            inFlight = 0;
            state = State.IDLE;
            arm(limits.idleTimeoutMillis());
          }
        }
      }
      ctx.write(msg, promise);
    }

    /** No RSV bit without an extension; permessage-deflate (the only one offered) defines RSV1. */
    private static boolean extensionAllows(ChannelHandlerContext ctx, int rsv) {
      return rsv == 0 || rsv == WebSocketExtension.RSV1 && ctx.pipeline().get(WebSocketExtensionDecoder.class) != null;
    }

    private static ApiError refusal(HttpRequest request) {
      if (request.method().equals(HttpMethod.CONNECT)) {
        return new ApiError(405, "invalid_request_error", "method_not_allowed",
          "CONNECT is not allowed: this is an API server, not a proxy.", null);
      }
      List<String> codings = request.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
      if (!codings.isEmpty() && (codings.size() > 1 || !codings.get(0).trim().equalsIgnoreCase("chunked"))) {
        return new ApiError(501, "invalid_request_error", "unsupported_transfer_encoding",
          "The only transfer coding accepted is 'chunked'.", null);
      }
      return null;
    }

    private static ApiError unreadable(Throwable cause) {
      if (cause instanceof TooLongHttpLineException) {
        return new ApiError(414, "invalid_request_error", "uri_too_long", "The request line is too long.", null);
      }
      if (cause instanceof TooLongHttpHeaderException) {
        return new ApiError(431, "invalid_request_error", "request_header_fields_too_large",
          "The request headers are too large.", null);
      }
      if (cause instanceof FramingViolation) {
        return ApiError.badRequest("A request may not carry both Content-Length and Transfer-Encoding.", null);
      }
      return ApiError.badRequest("The request is not valid HTTP/1.1 (" + bounded(cause.getMessage(), 80) + ").",
        null);
    }

    /** Answers with the error (unless a response is already on its way) and closes the connection. */
    private void refuse(ApiError error) {
      boolean answer = !responding;
      state = State.CLOSING;
      disarm();
      stopClock();
      if (!answer) {
        rawCtx.close();
        return;
      }
      byte[] body = error.toJson().toBuffer().getBytes();
      HttpResponseStatus status = HttpResponseStatus.valueOf(error.status());
      String head = "HTTP/1.1 " + status.code() + " " + status.reasonPhrase() + "\r\n"
        + "content-type: application/json\r\n"
        + "content-length: " + body.length + "\r\n"
        + "connection: close\r\n"
        + ConnectionVerticle.REQUEST_ID + ": " + ConnectionVerticle.newRequestId() + "\r\n"
        + (error.status() == 405 ? "allow: GET, POST, DELETE\r\n" : "")
        + "\r\n";
      ByteBuf bytes = Unpooled.buffer(head.length() + body.length);
      bytes.writeCharSequence(head, StandardCharsets.ISO_8859_1);
      bytes.writeBytes(body);
      LOG.debug("refused a request from {}: {} {}", rawCtx.channel().remoteAddress(), error.status(), error.message());
      // written at the head of the pipeline, past the codec: the connection ends with these bytes
      rawCtx.writeAndFlush(bytes).addListener(ChannelFutureListener.CLOSE);
    }

    private void arm(long millis) {
      due = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      armed = true;
      if (timer != null && timerDue - due <= 0) {
        return; // the clock fires first and sets itself for the rest
      }
      stopClock();
      schedule(due);
    }

    /** No deadline now; the clock, if running, finds nothing due when it fires. */
    private void disarm() {
      armed = false;
    }

    private void schedule(long at) {
      timerDue = at;
      timer = rawCtx.executor().schedule(this::expired, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** The connection is done with deadlines (closed, refused, another protocol): the clock goes too. */
    private void stopClock() {
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
    }

    private void expired() {
      timer = null;
      if (!armed) {
        return;
      }
      if (due - System.nanoTime() > 0) {
        schedule(due); // moved on since the clock was set
        return;
      }
      armed = false;
      if (codecSwapped && rawCtx.pipeline().get(DECODER) == null) {
        off(); // upgraded to another protocol meanwhile (h2c)
      } else if (state == State.HEAD) {
        refuse(new ApiError(408, "invalid_request_error", "request_timeout",
          "The request headers did not arrive within " + limits.headerReadTimeoutMillis() + " ms.", null));
      } else if (state == State.IDLE) {
        state = State.CLOSING;
        rawCtx.close();
      }
    }

    private void off() {
      state = State.OFF;
      disarm();
      stopClock();
    }
  }
}
