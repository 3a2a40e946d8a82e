package io.switchboard.config;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {

  private static String failure(String yaml, Map<String, String> env) {
    return assertThrows(ConfigException.class, () -> ConfigLoader.parse("test.yaml", yaml, env)).getMessage();
  }

  @Test
  void the_bundled_default_serves_the_simulator_with_auth_off() {
    SwitchboardConfig config = ConfigLoader.load(Path.of("../conf/switchboard.yaml"), Map.of());
    assertFalse(config.auth().enabled());
    assertEquals(3, config.deployments().size(), "without OPENAI_API_KEY only the simulator is served");
    assertTrue(config.deployments().get(0).isSimulator());
    assertFalse(config.deployments().get(0).embedding());
    assertEquals("switchboard-embedding", config.deployments().get(1).modelName());
    assertTrue(config.deployments().get(1).isSimulator() && config.deployments().get(1).embedding());
    assertTrue(config.deployments().get(2).isSimulator() && config.deployments().get(2).transcription());
    assertEquals(SwitchboardConfig.VERTICLES, config.verticles());
  }

  @Test
  void an_openai_key_in_the_environment_adds_the_openai_models() {
    SwitchboardConfig config = ConfigLoader.load(Path.of("../conf/switchboard.yaml"),
      Map.of("OPENAI_API_KEY", "sk-test", "OPENAI_BASE_URL", "http://127.0.0.1:1/v1"));
    assertEquals(6, config.deployments().size());
    assertTrue(config.deployments().get(4).embedding(), "text-embedding-3-small");
    var openai = config.deployments().get(2);
    assertEquals("gpt-4o-mini", openai.modelName());
    assertEquals("http://127.0.0.1:1/v1", openai.apiBase());
    assertFalse(openai.toString().contains("sk-test"), "keys never reach a log line");
  }

  @Test
  void a_typo_names_the_line_the_key_and_the_likely_meaning() {
    String message = failure("server:\n  host: 127.0.0.1\n  prot: 8080\n", Map.of());
    assertEquals("test.yaml line 3: server.prot is not a known setting (did you mean 'port'?)", message);
  }

  @Test
  void an_invalid_value_names_its_key() {
    assertEquals("test.yaml line 2: server.port must be a whole number, got 'eighty'",
      failure("server:\n  port: eighty\n", Map.of()));
    assertEquals("test.yaml line 4: model_list[0].simulator.error_rate must be between 0.0 and 1.0, got 2",
      failure("model_list:\n  - model_name: m\n    provider: simulator\n    simulator: {error_rate: 2}\n", Map.of()));
    assertTrue(failure("model_list:\n  - model_name: m\n    provider: anthropix\n", Map.of())
      .startsWith("test.yaml line 3: model_list[0].provider must be one of"));
    assertTrue(failure("verticles: [connection, routng]\n", Map.of()).contains("unknown verticle 'routng'"));
  }

  @Test
  void websocket_compression_is_off_unless_asked_for() {
    assertFalse(ConfigLoader.parse("test.yaml", "", Map.of()).server().webSocketCompression());
    assertTrue(ConfigLoader.parse("test.yaml", "server: {websocket_compression: true}\n", Map.of()).server()
      .webSocketCompression());
    assertTrue(failure("server: {websocket_compression: maybe}\n", Map.of()).startsWith("test.yaml line 1:"));
  }

  @Test
  void the_transport_is_epoll_where_it_loads_and_a_name_it_does_not_know_is_refused() {
    assertEquals("auto", ConfigLoader.parse("test.yaml", "", Map.of()).server().transport());
    assertEquals("epoll", io.switchboard.connection.HttpGuards.transport("auto").name());
    assertEquals("nio", io.switchboard.connection.HttpGuards.transport("nio").name());
    assertTrue(failure("server: {transport: kqueue}\n", Map.of())
      .startsWith("test.yaml line 1: server.transport must be one of"), "kqueue is macOS's");
  }

  @Test
  void im_work_is_durable_with_a_redis_session_store_and_in_memory_without() {
    assertEquals("memory", ConfigLoader.parse("test.yaml", "", Map.of()).imWork().queue());
    SwitchboardConfig redis = ConfigLoader.parse("test.yaml",
      "session: {store: redis, redis_url: \"redis://10.0.0.5:6379\"}\n", Map.of());
    assertTrue(redis.imWork().durable());
    assertEquals("redis://10.0.0.5:6379", redis.imWork().redisUrl());
    assertEquals(15_000, redis.imWork().claimIdleMillis());
    SwitchboardConfig chosen = ConfigLoader.parse("test.yaml",
      "session: {store: redis}\nim_work: {queue: memory, claim_idle_ms: 2000, max_attempts: 5}\n", Map.of());
    assertFalse(chosen.imWork().durable());
    assertEquals(2_000, chosen.imWork().claimIdleMillis());
    assertEquals(5, chosen.imWork().maxAttempts());
    assertTrue(failure("im_work: {claim_idle: 2000}\n", Map.of()).contains("im_work.claim_idle is not a known setting"));
    assertTrue(failure("im_work: {queue: kafka}\n", Map.of()).contains("im_work.queue must be one of"));
  }

  @Test
  void a_missing_environment_variable_is_named_with_the_key_that_needs_it() {
    String message = failure("auth:\n  enabled: true\n  keys:\n    - key: ${ACME_KEY}\n      tenant: acme\n", Map.of());
    assertTrue(message.startsWith("test.yaml line 4: auth.keys[0].key refers to environment variable ACME_KEY"),
      message);
  }

  @Test
  void environment_overrides_win_and_bad_ones_name_the_variable() {
    SwitchboardConfig config = ConfigLoader.parse("test.yaml", "server:\n  port: 8080\n",
      Map.of("SWITCHBOARD_SERVER_PORT", "9999", "SWITCHBOARD_VERTICLES", "connection,routing"));
    assertEquals(9999, config.server().port());
    assertEquals(2, config.verticles().size());
    String message = failure("server:\n  port: 8080\n", Map.of("SWITCHBOARD_SERVER_PORT", "99999"));
    assertTrue(message.startsWith("environment variable SWITCHBOARD_SERVER_PORT: server.port must be between"),
      message);
  }

  @Test
  void audio_transcription_models_and_the_im_channels_that_use_them_are_checked() {
    SwitchboardConfig config = ConfigLoader.parse("test.yaml", """
      server: {max_audio_bytes: 1048576}
      model_list:
        - model_name: chat
          provider: simulator
        - model_name: whisper
          provider: simulator
          model_info: {mode: audio_transcription}
      im_channels:
        - name: bot
          platform: wecom
          model: chat
          transcription_model: whisper
          credentials: {}
      """, Map.of());
    assertTrue(config.deployments().get(1).transcription());
    assertEquals("switchboard-simulator-whisper", config.deployments().get(1).upstreamModel());
    assertEquals(1_048_576, config.server().maxAudioBytes());
    assertEquals("whisper", config.imChannels().get(0).transcriptionModel());
    assertEquals(26_214_400, ConfigLoader.parse("test.yaml", "", Map.of()).server().maxAudioBytes(),
      "OpenAI's 25 MB by default");
    assertTrue(failure("model_list:\n  - model_name: m\n    provider: anthropic\n    api_base: http://127.0.0.1:1/v1\n"
      + "    model_info: {mode: audio_transcription}\n", Map.of()).contains("mode audio_transcription needs an "
      + "OpenAI-compatible provider"));
    String chatModel = failure("model_list:\n  - model_name: chat\n    provider: simulator\nim_channels:\n"
      + "  - name: bot\n    platform: wecom\n    model: chat\n    transcription_model: chat\n", Map.of());
    assertTrue(chatModel.contains("im_channels[0].transcription_model 'chat' is no model_list entry with "
      + "model_info.mode: audio_transcription"), chatModel);
  }

  @Test
  void model_info_mode_says_which_models_serve_embeddings_and_mistakes_name_the_line() {
    SwitchboardConfig config = ConfigLoader.parse("test.yaml", """
      model_list:
        - model_name: chat
          provider: simulator
        - model_name: vectors
          provider: simulator
          model_info: {mode: embedding}
        - model_name: vectors
          provider: openai
          api_base: http://127.0.0.1:1/v1
          model_info:
            mode: embedding
      """, Map.of());
    assertFalse(config.deployments().get(0).embedding());
    assertEquals(SwitchboardConfig.Deployment.CHAT, config.deployments().get(0).mode());
    assertTrue(config.deployments().get(1).embedding() && config.deployments().get(2).embedding());
    assertEquals("switchboard-simulator-embedding", config.deployments().get(1).upstreamModel());
    assertTrue(failure("model_list:\n  - model_name: m\n    provider: simulator\n    model_info: {mode: images}\n",
      Map.of()).startsWith("test.yaml line 4: model_list[0].model_info.mode must be one of"));
    assertEquals("test.yaml line 4: model_list[0].model_info.base_model is not a known setting", failure(
      "model_list:\n  - model_name: m\n    provider: simulator\n    model_info: {mode: embedding, base_model: x}\n",
      Map.of()));
    assertTrue(failure("model_list:\n  - model_name: m\n    provider: anthropic\n    api_base: http://127.0.0.1:1/v1\n"
      + "    model_info: {mode: embedding}\n", Map.of()).contains("model_list[0].model_info mode embedding needs an "
      + "OpenAI-compatible provider"));
    assertTrue(failure("model_list:\n  - model_name: m\n    provider: simulator\n  - model_name: m\n"
      + "    provider: simulator\n    model_info: {mode: embedding}\n", Map.of())
      .contains("model_list[1].model_info mode embedding differs from the mode chat"));
    String fallback = failure("model_list:\n  - model_name: v\n    provider: simulator\n    model_info: {mode: embedding}\n"
      + "  - model_name: c\n    provider: simulator\nroutes:\n  - model_name: v\n    fallbacks: [c]\n", Map.of());
    assertTrue(fallback.contains("routes[0].fallbacks 'c' (mode chat) cannot stand in for a model of mode embedding"),
      fallback);
  }

  @Test
  void upstream_pools_are_sized_from_the_expected_concurrency_and_mistakes_name_the_key() {
    SwitchboardConfig config = ConfigLoader.parse("test.yaml", """
      model_list:
        - {model_name: plain, provider: simulator}
        - {model_name: bounded, provider: simulator, max_concurrency: 300}
        - {model_name: h2, provider: simulator, http2: true, max_concurrency: 8000, http2_max_streams: 1000}
        - {model_name: h2-default, provider: simulator, http2: true}
        - {model_name: tuned, provider: simulator, max_connections: 7, pool_queue: {max_waiting: 5, max_wait_ms: 250}}
      """, Map.of());
    var pools = config.deployments().stream().map(SwitchboardConfig.Deployment::pool).toList();
    assertEquals(new SwitchboardConfig.Pool(false, 1000, 100, 1000, 1000), pools.get(0));
    assertEquals(300, pools.get(1).maxConnections(), "one connection per call routing lets through");
    assertEquals(8, pools.get(2).maxConnections(), "8,000 calls at 1,000 streams a connection");
    assertEquals(8000, pools.get(2).slots());
    assertEquals(10, pools.get(3).maxConnections());
    assertEquals(1000, pools.get(3).slots());
    assertEquals(new SwitchboardConfig.Pool(false, 7, 100, 5, 250), pools.get(4));

    String queueTypo = failure("model_list:\n  - {model_name: a, provider: simulator, pool_queue: {max_wiat_ms: 5}}\n",
      Map.of());
    assertTrue(queueTypo.contains("pool_queue.max_wiat_ms is not a known setting (did you mean 'max_wait_ms'?)"), queueTypo);
    String typo = failure("model_list:\n  - {model_name: a, provider: simulator, htp2: true}\n", Map.of());
    assertTrue(typo.contains("did you mean 'http2'?"), typo);
    String h1 = failure("model_list:\n  - {model_name: a, provider: simulator, http2_max_streams: 10}\n", Map.of());
    assertTrue(h1.contains("http2_max_streams") && h1.contains("http2: true"), h1);
  }

  @Test
  void broken_yaml_and_duplicate_keys_name_the_line() {
    assertTrue(failure("server:\n  port: [8080\n", Map.of()).startsWith("test.yaml line"));
    assertTrue(failure("server:\n  port: 1\n  port: 2\n", Map.of()).contains("line 3"));
  }

  @Test
  void short_or_repeated_client_keys_are_refused() {
    assertTrue(failure("auth:\n  keys:\n    - {key: short, tenant: a}\n", Map.of())
      .contains("auth.keys[0].key must be at least 16 characters long"));
    assertTrue(failure("auth:\n  enabled: true\n", Map.of()).contains("auth.keys must list at least one key"));
  }

  @Test
  void a_route_s_cache_is_read_checked_and_off_by_default() {
    String models = "model_list:\n  - {model_name: m, provider: simulator}\n  - {model_name: n, provider: simulator}\n";
    SwitchboardConfig config = ConfigLoader.parse("test.yaml", models
      + "routes:\n  - model_name: m\n    cache: {ttl_seconds: 600, tool_calls: true}\n  - {model_name: n}\n", Map.of());
    assertEquals(new SwitchboardConfig.RouteCache(600, true), config.route("m").cache());
    assertEquals(null, config.route("n").cache());
    assertEquals(null, config.route("unrouted").cache());
    assertTrue(config.caches());
    assertEquals("local", config.cache().store(), "memory is per node, so is the cache unless told");
    assertEquals(1L << 20, config.cache().maxEntryBytes());
    assertFalse(ConfigLoader.parse("test.yaml", models, Map.of()).caches());
    assertEquals("redis", ConfigLoader.parse("test.yaml", models + "session: {store: redis}\n", Map.of()).cache()
      .store(), "shared when conversations are");

    String typo = failure(models + "routes:\n  - model_name: m\n    cache: {ttl_seconds: 1, ttl_second: 600}\n",
      Map.of());
    assertTrue(typo.startsWith("test.yaml line 6: routes[0].cache.ttl_second is not a known setting"), typo);
    assertTrue(failure(models + "routes:\n  - model_name: m\n    cache: {tool_calls: true}\n", Map.of())
      .contains("routes[0].cache needs ttl_seconds"));
    assertTrue(failure(models + "cache: {store: memcached}\n", Map.of()).contains("cache.store must be one of"));
    assertTrue(failure(models + "cache: {max_entry_byte: 10}\n", Map.of()).contains("cache.max_entry_byte is not a known"));
  }

  @Test
  void a_deployment_price_is_read_and_its_typos_named() {
    String model = "model_list:\n  - model_name: m\n    provider: simulator\n";
    SwitchboardConfig config = ConfigLoader.parse("test.yaml", model
      + "    price: {input_per_million: 2.5, output_per_million: 10, cached_input_per_million: 1.25}\n", Map.of());
    assertEquals(new SwitchboardConfig.Price(2.5, 10, 1.25), config.deployments().get(0).price());
    assertEquals(null, ConfigLoader.parse("test.yaml", model, Map.of()).deployments().get(0).price(),
      "no price: the bundled table");
    String typo = failure(model + "    price: {input_per_million: 1, output_per_million: 2, cached_per_million: 1}\n",
      Map.of());
    assertTrue(typo.startsWith("test.yaml line 4: model_list[0].price.cached_per_million is not a known setting"), typo);
    assertTrue(failure(model + "    price: {input_per_million: 1}\n", Map.of())
      .contains("model_list[0].price needs input_per_million and output_per_million"));
    assertTrue(failure(model + "    price: {input_per_million: -1, output_per_million: 2}\n", Map.of())
      .contains("model_list[0].price.input_per_million must be between"));
  }

  @Test
  void keys_tenants_and_deployments_carry_their_limits_and_governance_follows_the_session_store() {
    SwitchboardConfig config = ConfigLoader.parse("test.yaml", """
      auth:
        enabled: true
        keys:
          - {key: key-0123456789abcdef, tenant: acme, key_alias: bot, models: [m], rpm_limit: 60, tpm_limit: 1000,
             max_budget: 2.5, budget_duration: 30d}
      tenants:
        - {name: acme, models: [m], rpm_limit: 600}
      session: {store: redis, redis_url: "redis://10.0.0.1:6379"}
      model_list:
        - {model_name: m, provider: simulator, rpm_limit: 10}
        - {model_name: m, provider: simulator}
      """, Map.of());
    var key = config.auth().keys().get(0);
    assertEquals("bot", key.keyAlias());
    assertEquals(60, key.limits().rpmLimit());
    assertEquals(2.5, key.limits().maxBudget());
    assertEquals(java.time.Duration.ofDays(30), key.limits().budgetDuration());
    assertEquals(600, config.governance().tenants().get(0).limits().rpmLimit());
    assertEquals(Map.of("m.0", new io.switchboard.governance.Limits(10, 0, null, null)),
      config.governance().deploymentLimits());
    assertEquals("redis", config.governance().store());
    assertEquals("redis://10.0.0.1:6379", config.governance().redisUrl());
    assertEquals("local", config.governance().onRedisDown());
    assertEquals("memory", ConfigLoader.parse("test.yaml", "model_list: []\n", Map.of()).governance().store());
  }

  @Test
  void a_bad_limit_or_governance_setting_names_its_key() {
    assertTrue(failure("auth:\n  keys:\n    - {key: key-0123456789abcdef, tenant: a, budget_duration: monthly}\n",
      Map.of()).contains("auth.keys[0].budget_duration must be a number and s, m, h, d or w"));
    assertTrue(failure("tenants:\n  - {name: a, rpm_limt: 5}\n", Map.of())
      .contains("tenants[0].rpm_limt is not a known setting"));
    assertTrue(failure("governance:\n  on_redis_down: open\n", Map.of())
      .contains("governance.on_redis_down must be one of"));
    assertTrue(failure("tenants:\n  - {name: a}\n  - {name: a}\n", Map.of()).contains("'a' is listed twice"));
  }

  @Test
  void the_spend_log_is_checked_and_never_shows_its_password() {
    SwitchboardConfig.SpendLog memory = ConfigLoader.parse("test.yaml", "", Map.of()).spendLog();
    assertEquals(new SwitchboardConfig.SpendLog("memory", null, 500, 1_000, 100_000), memory);
    SwitchboardConfig.SpendLog pg = ConfigLoader.parse("test.yaml", "spend_log: {store: postgres, postgres_url: "
      + "\"postgresql://sb:s3cret-pass@db:5432/switchboard\", batch_size: 200, flush_millis: 250}\n", Map.of()).spendLog();
    assertTrue(pg.postgres());
    assertEquals(200, pg.batchSize());
    assertEquals(250, pg.flushMillis());
    assertFalse(pg.toString().contains("s3cret"), pg.toString());
    assertTrue(pg.toString().contains("postgresql://sb:***@db:5432/switchboard"), pg.toString());
    assertTrue(failure("spend_log: {store: postgres}\n", Map.of())
      .contains("spend_log.postgres_url is required with store: postgres"));
    assertTrue(failure("spend_log: {store: postgres, postgres_url: \"mysql://x\"}\n", Map.of())
      .contains("spend_log.postgres_url must be a postgresql://"));
    assertTrue(failure("spend_log: {store: sqlite}\n", Map.of()).contains("spend_log.store must be one of"));
    String typo = failure("spend_log:\n  flush_milis: 100\n", Map.of());
    assertTrue(typo.startsWith("test.yaml line 2: spend_log.flush_milis is not a known setting"), typo);
  }
}
