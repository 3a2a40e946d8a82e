package io.switchboard.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.function.Function;

/** Many requests with bounded concurrency, for tests that count outcomes (not for timing claims). */
public final class Load {
  /** One request's outcome. */
  public record Outcome(int status, String body, long millis) {
  }

  private Load() {
  }

  public static List<Outcome> post(String url, int count, int concurrency, Function<Integer, String> body,
                                   String... headers) throws InterruptedException {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
    Semaphore slots = new Semaphore(concurrency);
    List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<?>> all = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      slots.acquire();
      HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.apply(i)));
      for (int h = 0; h + 1 < headers.length; h += 2) {
        request.header(headers[h], headers[h + 1]);
      }
      long start = System.nanoTime();
      all.add(client.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString())
        .handle((response, failure) -> {
          long millis = (System.nanoTime() - start) / 1_000_000;
          outcomes.add(failure != null ? new Outcome(-1, failure.toString(), millis)
            : new Outcome(response.statusCode(), response.body(), millis));
          slots.release();
          return null;
        }));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    return List.copyOf(outcomes);
  }

  public static long percentile(List<Outcome> outcomes, double p) {
    long[] sorted = outcomes.stream().mapToLong(Outcome::millis).sorted().toArray();
    return sorted.length == 0 ? 0 : sorted[(int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)];
  }
}
