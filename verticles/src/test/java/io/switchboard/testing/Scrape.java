package io.switchboard.testing;

import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Prometheus text scrape and the metric names PromQL expressions query, for checking that what dashboards, alert
 * rules and the HPA ask for is what a node exports.
 */
public final class Scrape {
  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  /** PromQL words that look like names: aggregations, functions, modifiers, operators. */
  private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile",
    "stddev", "stdvar", "count_values", "group", "rate", "irate", "increase", "delta", "idelta", "deriv",
    "histogram_quantile", "label_values", "label_replace", "abs", "clamp_min", "clamp_max", "vector", "scalar",
    "time", "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "inf", "nan", "le");
  private final Set<String> series = new HashSet<>();
  private final Set<String> histograms = new HashSet<>();

  public Scrape(String text) {
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        if (parts.length == 4 && (parts[3].equals("histogram") || parts[3].equals("summary"))) {
          histograms.add(parts[2]);
        }
      } else if (!line.isBlank() && !line.startsWith("#")) {
        int end = line.indexOf('{');
        series.add(end < 0 ? line.substring(0, line.indexOf(' ')) : line.substring(0, end));
      }
    }
  }

  /** A series of this name is exported (a histogram's {@code _bucket}, {@code _count} and {@code _sum} too). */
  public boolean has(String metric) {
    if (series.contains(metric)) {
      return true;
    }
    for (String suffix : new String[] {"_bucket", "_count", "_sum"}) {
      if (metric.endsWith(suffix) && histograms.contains(metric.substring(0, metric.length() - suffix.length()))) {
        return true;
      }
    }
    return false;
  }

  /**
   * The metric names an expression queries: what remains once strings, label matchers, ranges, grouping clauses,
   * functions (a name before a parenthesis), keywords, numbers and template variables are taken out.
   */
  public static Set<String> metricNames(String promql) {
    String stripped = promql.replaceAll("label_values\\(([^,)]*),[^)]*\\)", "$1")
      .replaceAll("\"(\\\\.|[^\"\\\\])*\"", "\"\"")
      .replaceAll("\\{[^}]*}", " ")
      .replaceAll("\\[[^]]*]", " ")
      .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
      .replaceAll("\\$\\w+", " ");
    Set<String> names = new LinkedHashSet<>();
    Matcher m = NAME.matcher(stripped);
    while (m.find()) {
      String name = m.group();
      int after = m.end();
      while (after < stripped.length() && stripped.charAt(after) == ' ') {
        after++;
      }
      boolean function = after < stripped.length() && stripped.charAt(after) == '(';
      boolean number = m.start() > 0 && Character.isDigit(stripped.charAt(m.start() - 1));
      if (!function && !number && !KEYWORDS.contains(name.toLowerCase())) {
        names.add(name);
      }
    }
    return names;
  }
}
