package io.switchboard.config;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The azure, gemini and bedrock providers' settings: defaults, and mistakes named where they are. */
class CloudProviderConfigTest {

  private static SwitchboardConfig.Deployment only(String entry, Map<String, String> env) {
    return ConfigLoader.parse("test.yaml", "model_list:\n" + entry, env).deployments().get(0);
  }

  private static String error(String entry, Map<String, String> env) {
    return assertThrows(ConfigException.class, () -> ConfigLoader.parse("test.yaml", "model_list:\n" + entry, env))
      .getMessage();
  }

  @Test
  void azure_takes_its_deployment_api_version_and_entra_token_with_defaults() {
    var azure = only("""
        - model_name: gpt-4o
          provider: azure
          api_base: https://acme.openai.azure.com/
          azure_ad_token: ${AZURE_AD_TOKEN}
      """, Map.of("AZURE_AD_TOKEN", "eyJ.token"));
    assertEquals("https://acme.openai.azure.com", azure.apiBase());
    assertEquals("gpt-4o", azure.cloud().azureDeployment(), "the deployment defaults to the upstream model");
    assertEquals("2024-10-21", azure.cloud().apiVersion());
    assertEquals("eyJ.token", azure.cloud().azureAdToken());
    assertFalse(azure.cloud().toString().contains("eyJ"), "no secret in toString");
  }

  @Test
  void gemini_defaults_to_googles_endpoint() {
    var gemini = only("""
        - model_name: gemini-2.5-flash
          provider: gemini
          api_key: AIza-key
      """, Map.of());
    assertEquals("https://generativelanguage.googleapis.com", gemini.apiBase());
  }

  @Test
  void bedrock_takes_its_region_from_the_config_or_the_environment_and_credentials_in_pairs() {
    var bedrock = only("""
        - model_name: claude
          provider: bedrock
          upstream_model: anthropic.claude-3-5-sonnet-20240620-v1:0
      """, Map.of("AWS_REGION", "eu-west-1"));
    assertEquals("https://bedrock-runtime.eu-west-1.amazonaws.com", bedrock.apiBase());
    assertEquals("eu-west-1", bedrock.cloud().awsRegion());
    assertNull(bedrock.cloud().awsAccessKeyId(), "no static keys: the default chain");

    var keyed = only("""
        - model_name: claude
          provider: bedrock
          aws_region: us-east-1
          aws_access_key_id: test-access-key-id
          aws_secret_access_key: secret-example
      """, Map.of());
    assertEquals("test-access-key-id", keyed.cloud().awsAccessKeyId());
    assertFalse(keyed.toString().contains("secret-example") || keyed.cloud().toString().contains("secret-example"));

    assertTrue(error("""
        - model_name: claude
          provider: bedrock
      """, Map.of()).contains("aws_region"));
    assertTrue(error("""
        - model_name: claude
          provider: bedrock
          aws_region: Virginia
      """, Map.of()).contains("must be an AWS region"));
    String unpaired = error("""
        - model_name: claude
          provider: bedrock
          aws_region: us-east-1
          aws_access_key_id: test-access-key-id
      """, Map.of());
    assertTrue(unpaired.contains("aws_secret_access_key") && unpaired.contains("is required with"), unpaired);
  }

  @Test
  void a_cloud_setting_on_another_provider_is_named() {
    String message = error("""
        - model_name: gpt-4o
          provider: openai
          api_base: https://api.openai.com/v1
          azure_deployment: gpt-4o
      """, Map.of());
    assertTrue(message.contains("azure_deployment") && message.contains("applies only to provider: azure"), message);
    message = error("""
        - model_name: gemini
          provider: gemini
          aws_region: us-east-1
      """, Map.of());
    assertTrue(message.contains("applies only to provider: bedrock"), message);
  }
}
