import io.vertx.core.*;
import io.vertx.core.http.*;
import io.vertx.core.json.JsonObject;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

/** N WebSockets to /v1/ws, each one chat turn, then held open: java WsDeflate.java N true|false HOLD_SECONDS */
public class WsDeflate {
  public static void main(String[] a) throws Exception {
    int n = Integer.parseInt(a[0]); boolean deflate = Boolean.parseBoolean(a[1]); int hold = Integer.parseInt(a[2]);
    Vertx vertx = Vertx.vertx();
    WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(n + 1)
      .setTryUsePerMessageCompression(deflate));
    CountDownLatch done = new CountDownLatch(n);
    AtomicInteger negotiated = new AtomicInteger(), failed = new AtomicInteger();
    List<WebSocket> held = Collections.synchronizedList(new ArrayList<>());
    vertx.runOnContext(v -> {
      for (int i = 0; i < n; i++) {
        String id = "t" + i;
        client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(8080).setURI("/v1/ws")).onComplete(r -> {
          if (r.failed()) { failed.incrementAndGet(); done.countDown(); return; }
          WebSocket ws = r.result(); held.add(ws);
          String ext = ws.headers() == null ? null : ws.headers().get("sec-websocket-extensions");
          if (ext != null && ext.contains("permessage-deflate")) negotiated.incrementAndGet();
          ws.textMessageHandler(t -> { String type = new JsonObject(t).getString("type", "");
            if ("done".equals(type) || "error".equals(type)) done.countDown(); });
          ws.writeTextMessage(new JsonObject().put("type", "chat").put("id", id).put("model", "switchboard-simulator")
            .put("message", "Hello there, how are you today?").encode());
        });
      }
    });
    boolean all = done.await(120, TimeUnit.SECONDS);
    System.out.println("turns done: " + all + " open " + held.size() + " negotiated deflate " + negotiated + " failed " + failed);
    System.out.flush();
    Thread.sleep(hold * 1000L);
    vertx.close().await();
  }
}
