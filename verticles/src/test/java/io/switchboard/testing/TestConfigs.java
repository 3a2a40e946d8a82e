package io.switchboard.testing;

/** Configurations tests start nodes with. */
public final class TestConfigs {
  private TestConfigs() {
  }

  public static final String ACME_KEY = "test-key-acme-0123456789";
  public static final String GLOBEX_KEY = "test-key-globex-0123456789";

  /** Auth on, two tenants, and simulator models that fail in each of the ways tests need. */
  public static final String GATEWAY = """
    server:
      max_body_bytes: 4096
      request_timeout_ms: 20000
    auth:
      enabled: true
      keys:
        - key: test-key-acme-0123456789
          tenant: acme
        - key: test-key-globex-0123456789
          tenant: globex
    simulator:
      ttft_ms: 5
      tokens_per_second: 0
      reply_tokens: 12
    model_list:
      - model_name: switchboard-simulator
        provider: simulator
      - model_name: sim-paced
        provider: simulator
        simulator: {tokens_per_second: 200, reply_tokens: 10}
      - model_name: sim-broken
        provider: simulator
        simulator: {error_rate: 1}
        circuit_breaker: {max_failures: 1000}
      - model_name: sim-hang
        provider: simulator
        timeout_ms: 400
        simulator: {hang: true}
        circuit_breaker: {max_failures: 1000}
      - model_name: sim-drop
        provider: simulator
        simulator: {drop_after_chunks: 3, reply_tokens: 10, tokens_per_second: 500}
        circuit_breaker: {max_failures: 1000}
    routes:
      - model_name: sim-drop
        num_retries: 0
      - model_name: sim-broken
        num_retries: 1
        retry_base_ms: 5
    """;
}
