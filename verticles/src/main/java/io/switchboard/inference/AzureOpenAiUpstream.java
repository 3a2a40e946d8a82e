package io.switchboard.inference;

import io.switchboard.config.SwitchboardConfig.Deployment;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.RequestOptions;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Azure OpenAI: OpenAI's own wire format, at a deployment's URL
 * ({@code {api_base}/openai/deployments/{azure_deployment}/chat/completions?api-version=...}) with Azure's
 * authentication: a key in the {@code api-key} header, or, with no keys, an Entra ID token as a bearer
 * ({@code azure_ad_token}, fetched and renewed by the operator: the gateway does not call Entra itself).
 */
final class AzureOpenAiUpstream extends OpenAiUpstream {
  private final String adToken;

  AzureOpenAiUpstream(Deployment deployment, String baseUrl, HttpClientAgent client, UpstreamSlots slots) {
    super(deployment, url(deployment, baseUrl, "chat/completions"), url(deployment, baseUrl, "embeddings"), client,
      slots);
    this.adToken = deployment.cloud().azureAdToken();
  }

  /** The resource endpoint, given with or without Azure's {@code /openai} path (both are seen in the wild). */
  private static String url(Deployment deployment, String baseUrl, String operation) {
    String resource = baseUrl.endsWith("/openai") ? baseUrl.substring(0, baseUrl.length() - 7) : baseUrl;
    return resource + "/openai/deployments/" + URLEncoder.encode(deployment.cloud().azureDeployment(),
      StandardCharsets.UTF_8) + "/" + operation + "?api-version=" + URLEncoder.encode(deployment.cloud().apiVersion(),
      StandardCharsets.UTF_8);
  }

  @Override
  protected void headers(RequestOptions options, String key) {
    if (key != null) {
      options.putHeader("api-key", key);
    } else if (adToken != null) {
      options.putHeader("authorization", "Bearer " + adToken);
    }
  }
}
