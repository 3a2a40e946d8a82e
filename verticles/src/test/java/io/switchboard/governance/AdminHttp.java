package io.switchboard.governance;

import io.switchboard.testing.Http;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The admin API and chat calls the governance tests make. */
final class AdminHttp {
  static final String ADMIN_TOKEN = "admin-token-0123456789";
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
    .connectTimeout(Duration.ofSeconds(5)).build();

  private AdminHttp() {
  }

  static HttpResponse<String> admin(String method, String url, JsonObject body) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
      .header("authorization", "Bearer " + ADMIN_TOKEN)
      .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body.encode()));
    if (body != null) {
      builder.header("content-type", "application/json");
    }
    try {
      return CLIENT.send(builder.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static String chatBody(String model, boolean stream) {
    return new JsonObject().put("model", model).put("stream", stream).put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", "hi"))).encode();
  }

  static HttpResponse<String> chat(String baseUrl, String key, String model) {
    return Http.post(baseUrl + "/v1/chat/completions", chatBody(model, false), "authorization", "Bearer " + key);
  }

  static String code(HttpResponse<String> response) {
    return new JsonObject(response.body()).getJsonObject("error").getString("code");
  }

  static double metric(String metrics, String prefix) {
    return metrics.lines().filter(l -> l.startsWith(prefix))
      .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }
}
