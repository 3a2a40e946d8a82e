package io.switchboard.overload;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.Overload;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How loaded this node is, measured by itself: how late a periodic timer fires on an event loop (the mean of the
 * last ten checks), how many turns
 * wait in its admission queues ({@code switchboard.routing.queued}), and how full the heap is after the last
 * garbage collection. Verticles read {@link #level()} (0 normal … 3 critical) to go without optional work first and
 * to shed low priorities last; {@code switchboard.overload.level} shows it, and each change is logged.
 */
public final class NodeLoad {
  private static final Logger LOG = LoggerFactory.getLogger(NodeLoad.class);
  /** The mean timer lateness of this many checks is the loop delay. */
  private static final int DELAY_WINDOW = 10;

  private final Overload settings;
  private final OverloadLevels levels;
  private final MeterRegistry registry;
  private final List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
    .filter(pool -> pool.getType() == MemoryType.HEAP && pool.isCollectionUsageThresholdSupported()).toList();
  private final long[] delays = new long[DELAY_WINDOW];
  private final Map<String, Counter> skips = new HashMap<>();
  private volatile int level;
  private int next;

  public NodeLoad(Overload settings, MeterRegistry registry) {
    this.settings = settings;
    this.levels = new OverloadLevels(settings);
    this.registry = registry;
    Gauge.builder("switchboard.overload.level", this, NodeLoad::level)
      .description("This node's overload level: 0 normal, 1 optional work deferred, 2 all optional work skipped, "
        + "3 low priorities shed").register(registry);
    for (String work : SwitchboardConfig.Route.OPTIONAL_WORK) {
      skips.put(work, Counter.builder("switchboard.overload.skipped").description("Optional work skipped under overload")
        .tag("work", work).register(registry));
    }
  }

  /** The current level, 0 (normal) to 3 (critical); always 0 when overload detection is off. */
  public int level() {
    return level;
  }

  /** Counts a piece of optional work a turn went without. */
  public void skipped(String work) {
    skips.get(work).increment();
  }

  public void start(Vertx vertx) {
    if (!settings.enabled()) {
      return;
    }
    long period = settings.checkMillis();
    long[] expected = {System.nanoTime() + period * 1_000_000};
    vertx.setPeriodic(period, t -> {
      long now = System.nanoTime();
      delays[next++ % DELAY_WINDOW] = Math.max(0, (now - expected[0]) / 1_000_000);
      expected[0] = now + period * 1_000_000;
      check(System.currentTimeMillis());
    });
  }

  private void check(long nowMillis) {
    long total = 0;
    for (long d : delays) {
      total += d;
    }
    long delay = total / DELAY_WINDOW;
    long queued = Math.round(registry.find("switchboard.routing.queued").gauges().stream()
      .mapToDouble(Gauge::value).sum());
    int before = levels.level();
    int after = levels.update(nowMillis, new OverloadLevels.Signals(delay, queued, heapAfterGcPercent()));
    level = after;
    if (after > before) {
      LOG.warn("OVERLOAD level {} (was {}): {}", after, before, levels.cause());
    } else if (after < before) {
      LOG.info("overload level {} (was {}): signals calm for {} ms", after, before, settings.calmMillis());
    }
  }

  private long heapAfterGcPercent() {
    long used = 0;
    long max = 0;
    for (MemoryPoolMXBean pool : heap) {
      MemoryUsage after = pool.getCollectionUsage();
      if (after != null && pool.getUsage().getMax() > 0) {
        used += after.getUsed();
        max += pool.getUsage().getMax();
      }
    }
    return max <= 0 ? 0 : used * 100 / max;
  }
}
