package io.switchboard.governance;

import io.switchboard.config.ConfigLoader;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Every figure below is worked out by hand from the prices per million tokens. */
class PricesTest {
  private static final double EXACT = 1e-12;

  private static final Prices PRICES = new Prices(ConfigLoader.parse("test.yaml", """
    model_list:
      - model_name: priced
        id: priced-0
        provider: openai
        api_base: http://127.0.0.1:1/v1
        api_key: sk-x
        upstream_model: gpt-4o
        price: {input_per_million: 2.0, output_per_million: 8.0, cached_input_per_million: 0.5}
      - model_name: no-cached-price
        id: flat-0
        provider: openai
        api_base: http://127.0.0.1:1/v1
        api_key: sk-x
        price: {input_per_million: 1, output_per_million: 2}
      - model_name: gpt-4o
        id: gpt-4o-0
        provider: openai
        api_base: http://127.0.0.1:1/v1
        api_key: sk-x
        upstream_model: gpt-4o-2024-08-06
      - model_name: sim
        id: sim-0
        provider: simulator
    """, Map.of()));

  private static JsonObject usage(int prompt, int cached, int completion, int reasoning) {
    return new JsonObject().put("prompt_tokens", prompt).put("completion_tokens", completion)
      .put("total_tokens", prompt + completion)
      .put("prompt_tokens_details", new JsonObject().put("cached_tokens", cached))
      .put("completion_tokens_details", new JsonObject().put("reasoning_tokens", reasoning));
  }

  @Test
  void a_deployments_own_price_wins_over_the_table() {
    // 800 uncached x $2 + 200 cached x $0.50 + 500 out x $8 = 1,600 + 100 + 4,000 = 5,700 per million
    assertEquals(0.0057, PRICES.costUsd("priced-0", "gpt-4o", usage(1000, 200, 500, 0)), EXACT);
  }

  @Test
  void cached_tokens_cost_the_input_price_when_no_cached_price_is_set() {
    // 1,000 in x $1 (400 of them cached, same price) + 100 out x $2 = 1,200 per million
    assertEquals(0.0012, PRICES.costUsd("flat-0", null, usage(1000, 400, 100, 0)), EXACT);
  }

  @Test
  void a_dated_upstream_model_is_priced_as_its_base() {
    // gpt-4o: $2.50 in, $1.25 cached, $10 out. 976 x 2.5 + 1,024 x 1.25 + 300 x 10 = 2,440 + 1,280 + 3,000
    assertEquals(0.00672, PRICES.costUsd("gpt-4o-0", null, usage(2000, 1024, 300, 0)), EXACT);
    assertEquals(0.00672, PRICES.costUsd(null, "gpt-4o-2024-08-06", usage(2000, 1024, 300, 0)), EXACT);
  }

  @Test
  void a_dated_name_the_table_lists_itself_keeps_its_own_price() {
    // gpt-4o-2024-05-13 costs $5 in, $15 out: 1,000 x 5 + 1,000 x 15 = 20,000 per million
    assertEquals(0.02, PRICES.costUsd(null, "gpt-4o-2024-05-13", usage(1000, 0, 1000, 0)), EXACT);
  }

  @Test
  void the_longest_listed_name_wins() {
    // gpt-4o-mini ($0.15 / $0.60), not gpt-4o: a million of each = 0.15 + 0.60
    assertEquals(0.75, PRICES.costUsd(null, "gpt-4o-mini", usage(1_000_000, 0, 1_000_000, 0)), EXACT);
    // gemini-2.5-flash ($0.30 / $2.50), not -lite: 10,000 x 0.3 + 1,000 x 2.5 = 3,000 + 2,500
    assertEquals(0.0055, PRICES.costUsd(null, "gemini-2.5-flash-preview-05-20", usage(10_000, 0, 1000, 0)), EXACT);
    assertEquals(0.10, Prices.bundled("gemini-2.5-flash-lite").inputPerMillion(), EXACT);
    // a provider prefix is dropped: gpt-4.1-mini at $0.40 / $1.60 -> 400 + 1,600
    assertEquals(0.002, PRICES.costUsd(null, "openai/gpt-4.1-mini", usage(1000, 0, 1000, 0)), EXACT);
  }

  @Test
  void anthropic_usage_as_the_gateway_translates_it() {
    // claude-3-5-sonnet: $3 in, $0.30 cache read, $15 out. Anthropic's input_tokens 100 + cache_read 1,000 arrive
    // as prompt_tokens 1,100 with cached_tokens 1,000: 100 x 3 + 1,000 x 0.3 + 200 x 15 = 300 + 300 + 3,000
    assertEquals(0.0036, PRICES.costUsd(null, "claude-3-5-sonnet-20241022", usage(1100, 1000, 200, 0)), EXACT);
    // claude-sonnet-4-20250514 is claude-sonnet-4 (not claude-3-...): 1,000 x 3 + 1,000 x 15
    assertEquals(0.018, PRICES.costUsd(null, "claude-sonnet-4-20250514", usage(1000, 0, 1000, 0)), EXACT);
  }

  @Test
  void reasoning_tokens_are_paid_as_the_output_they_are_part_of() {
    // o4-mini $1.10 / $4.40; 1,500 completion tokens of which 1,024 reasoning: 500 x 1.1 + 1,500 x 4.4 = 550 + 6,600
    assertEquals(0.00715, PRICES.costUsd(null, "o4-mini", usage(500, 0, 1500, 1024)), EXACT);
  }

  @Test
  void unknown_models_and_missing_usage_cost_nothing() {
    assertEquals(0, PRICES.costUsd("sim-0", null, usage(1000, 0, 1000, 0)));
    assertEquals(0, PRICES.costUsd(null, "my-llama-70b", usage(1000, 0, 1000, 0)));
    assertNull(Prices.bundled("gpt-4.5-preview"), "gpt-4 is a prefix only when a '-' follows it");
    assertEquals(0, PRICES.costUsd("priced-0", null, null));
    assertEquals(0, PRICES.costUsd("priced-0", null, new JsonObject()));
  }

  @Test
  void a_price_without_a_cached_figure_takes_the_input_price() {
    SwitchboardConfig.Price price = ConfigLoader.parse("t.yaml", """
      model_list:
        - model_name: m
          provider: simulator
          price: {input_per_million: 3, output_per_million: 15}
      """, Map.of()).deployments().get(0).price();
    assertEquals(new SwitchboardConfig.Price(3, 15, 3), price);
  }
}
