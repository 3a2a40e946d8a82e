package io.switchboard.chat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.switchboard.bus.ApiError;
import io.switchboard.chat.ChatPipeline.Channel;
import io.switchboard.config.SwitchboardConfig;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Every chat turn, whatever its channel, as Prometheus sees it: {@code switchboard.turns} (latency histogram by
 * channel, model and outcome: {@code ok} or the error's OpenAI type) and {@code switchboard.turn.ttft} (a stream's
 * time to its first chunk at the client). Only served model names become tags ({@code none} for the others), so
 * clients cannot grow the cardinality. Meters are made at start-up and for the models a reload adds (a failure's on
 * its first occurrence) and then only recorded: one map lookup per turn, no registry search. One per pipeline, used on its event loop.
 */
final class TurnMeters {
  /** One channel and model's meters. */
  static final class Meters {
    private final MeterRegistry registry;
    private final String channel;
    private final String model;
    private final Timer ok;
    private final Timer firstChunk;
    private final Map<String, Timer> failed = new HashMap<>();

    private Meters(MeterRegistry registry, String channel, String model) {
      this.registry = registry;
      this.channel = channel;
      this.model = model;
      this.ok = turns("ok");
      this.firstChunk = Timer.builder("switchboard.turn.ttft")
        .description("Time from a streamed turn's arrival to its first chunk at the client, by channel and model")
        .tag("channel", channel).tag("model", model).publishPercentileHistogram().register(registry);
    }

    private Timer turns(String outcome) {
      return Timer.builder("switchboard.turns")
        .description("Chat turns of every channel by channel, model and outcome (ok, or the error's type), "
          + "with latency")
        .tag("channel", channel).tag("model", model).tag("outcome", outcome)
        .publishPercentileHistogram().register(registry);
    }

    void succeeded(long nanos) {
      ok.record(nanos, TimeUnit.NANOSECONDS);
    }

    void failed(ApiError error, long nanos) {
      failed.computeIfAbsent(error.type() == null ? "error" : error.type(), this::turns)
        .record(nanos, TimeUnit.NANOSECONDS);
    }

    void firstChunk(long nanos) {
      firstChunk.record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  private final Map<String, Meters[]> byModel = new HashMap<>();
  private final Meters[] unknown;
  private final MeterRegistry registry;
  /** The configuration whose models have meters here. */
  private SwitchboardConfig served;

  TurnMeters(MeterRegistry registry, SwitchboardConfig config) {
    this.registry = registry;
    unknown = channels(registry, "none");
    follow(config);
  }

  /**
   * Meters for the models of {@code config} too, when it is not the one seen last (a reload added models): one
   * reference comparison a turn otherwise. A model a reload removed keeps its meters, so its series do not vanish.
   */
  TurnMeters follow(SwitchboardConfig config) {
    if (config != served) {
      for (SwitchboardConfig.Deployment deployment : config.deployments()) {
        byModel.computeIfAbsent(deployment.modelName(), model -> channels(registry, model));
      }
      served = config;
    }
    return this;
  }

  private static Meters[] channels(MeterRegistry registry, String model) {
    Channel[] channels = Channel.values();
    Meters[] meters = new Meters[channels.length];
    for (Channel channel : channels) {
      meters[channel.ordinal()] = new Meters(registry, channel.tag(), model);
    }
    return meters;
  }

  Meters of(Channel channel, String model) {
    return byModel.getOrDefault(model, unknown)[channel.ordinal()];
  }
}
