package io.switchboard.monitoring;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

import java.util.function.ToDoubleFunction;

/**
 * Registers a gauge that replaces any earlier one of the same name and tags. Micrometer hands back the first gauge
 * registered under an id, which would keep reading a redeployed verticle's old state: the new instance's wins.
 */
public final class Gauges {
  private Gauges() {
  }

  public static <T> void replace(MeterRegistry registry, String name, Tags tags, String description, T state,
                                 ToDoubleFunction<T> value) {
    Gauge old = registry.find(name).tags(tags).gauge();
    if (old != null && Tags.of(old.getId().getTags()).equals(tags)) {
      registry.remove(old);
    }
    Gauge.builder(name, state, value).description(description).tags(tags).register(registry);
  }
}
