package io.switchboard.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain L4 load balancer for tests: each TCP connection goes to the next backend in turn (one that refuses the
 * connection is skipped), bytes are copied both ways, and either side closing closes the other. Like a cloud's TCP
 * load balancer it knows nothing of HTTP on the traffic; it health-checks each backend's {@code /ready} every 200 ms
 * and sends new connections only to backends that passed the last check.
 */
public final class TcpBalancer implements AutoCloseable {
  private final ServerSocket server;
  /** Backends as {api port, management port}. */
  private final List<int[]> backends = new CopyOnWriteArrayList<>();
  private final Set<Integer> ready = ConcurrentHashMap.newKeySet();
  private final AtomicInteger next = new AtomicInteger();
  public final int port;

  /** @param backendPorts each backend's {api port, management port} */
  public TcpBalancer(List<int[]> backendPorts) throws IOException {
    backends.addAll(backendPorts);
    backends.forEach(b -> ready.add(b[0]));
    server = new ServerSocket();
    server.bind(new InetSocketAddress("127.0.0.1", 0), 256);
    port = server.getLocalPort();
    Thread acceptor = new Thread(this::accept, "tcp-balancer");
    acceptor.setDaemon(true);
    acceptor.start();
    Thread checker = new Thread(this::check, "tcp-balancer-health");
    checker.setDaemon(true);
    checker.start();
  }

  /** A restarted node listens on other ports. */
  public void replace(int oldApiPort, int[] fresh) {
    for (int i = 0; i < backends.size(); i++) {
      if (backends.get(i)[0] == oldApiPort) {
        backends.set(i, fresh);
      }
    }
  }

  private void check() {
    while (!server.isClosed()) {
      for (int[] backend : backends) {
        boolean up;
        try {
          up = Http.get("http://127.0.0.1:" + backend[1] + "/ready").statusCode() == 200;
        } catch (RuntimeException e) {
          up = false;
        }
        if (up) {
          ready.add(backend[0]);
        } else {
          ready.remove(backend[0]);
        }
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Thread pipe = new Thread(() -> connect(client), "tcp-balancer-conn");
        pipe.setDaemon(true);
        pipe.start();
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void connect(Socket client) {
    for (int tries = 0; tries < backends.size(); tries++) {
      int backend = backends.get(Math.floorMod(next.getAndIncrement(), backends.size()))[0];
      if (!ready.contains(backend)) {
        continue;
      }
      Socket upstream = new Socket();
      try {
        upstream.connect(new InetSocketAddress("127.0.0.1", backend), 2_000);
      } catch (IOException refused) {
        close(upstream);
        continue;
      }
      Thread back = new Thread(() -> copy(upstream, client), "tcp-balancer-back");
      back.setDaemon(true);
      back.start();
      copy(client, upstream);
      return;
    }
    close(client);
  }

  private static void copy(Socket from, Socket to) {
    byte[] buffer = new byte[16 * 1024];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int read;
      while ((read = in.read(buffer)) >= 0) {
        out.write(buffer, 0, read);
        out.flush();
      }
    } catch (IOException e) {
      // one side went away
    } finally {
      close(from);
      close(to);
    }
  }

  private static void close(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
