package io.switchboard.config;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A YAML mapping being read into typed configuration. It knows where each key stands (file, line) and
 * which keys were read, so a typo is reported with its line and the key it was probably meant to be.
 * Scalars may reference the environment as {@code ${NAME}} or {@code ${NAME:-default}}; a scalar at a
 * top-level path can be overridden by the variable {@code SWITCHBOARD_<PATH>} (dots become underscores).
 */
public final class ConfigNode {
  private static final Pattern ENV_REF = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?}");

  private final String file;
  private final String path;
  private final int line;
  private final Map<String, NodeTuple> entries = new LinkedHashMap<>();
  private final Set<String> read = new LinkedHashSet<>();
  private final Map<String, String> env;
  private final boolean envOverrides;

  ConfigNode(String file, String path, Node node, Map<String, String> env, boolean envOverrides) {
    this.file = file;
    this.path = path;
    this.env = env;
    this.envOverrides = envOverrides;
    this.line = node == null ? 0 : node.getStartMark().getLine() + 1;
    if (node != null) {
      if (!(node instanceof MappingNode mapping)) {
        throw error(line, path, "must be a mapping of keys to values");
      }
      for (NodeTuple tuple : mapping.getValue()) {
        if (!(tuple.getKeyNode() instanceof ScalarNode key)) {
          throw error(tuple.getKeyNode().getStartMark().getLine() + 1, path, "keys must be plain names");
        }
        if (entries.put(key.getValue(), tuple) != null) {
          throw error(key.getStartMark().getLine() + 1, qualify(key.getValue()), "is given twice");
        }
      }
    }
  }

  public String path() {
    return path;
  }

  public boolean has(String key) {
    return entries.containsKey(key) || envValue(key) != null;
  }

  public String string(String key, String defaultValue) {
    String value = scalar(key);
    return value == null ? defaultValue : value;
  }

  public String requiredString(String key) {
    String value = scalar(key);
    if (value == null || value.isBlank()) {
      throw error(lineOf(key), qualify(key), "is required");
    }
    return value;
  }

  public int integer(String key, int defaultValue, int min, int max) {
    return (int) number(key, defaultValue, min, max);
  }

  public long number(String key, long defaultValue, long min, long max) {
    String value = scalar(key);
    if (value == null || value.isBlank()) {
      return defaultValue;
    }
    long parsed;
    try {
      parsed = Long.parseLong(value.trim().replace("_", ""));
    } catch (NumberFormatException e) {
      throw error(lineOf(key), qualify(key), "must be a whole number, got '" + value + "'");
    }
    if (parsed < min || parsed > max) {
      throw error(lineOf(key), qualify(key), "must be between " + min + " and " + max + ", got " + parsed);
    }
    return parsed;
  }

  public double decimal(String key, double defaultValue, double min, double max) {
    String value = scalar(key);
    if (value == null || value.isBlank()) {
      return defaultValue;
    }
    double parsed;
    try {
      parsed = Double.parseDouble(value.trim());
    } catch (NumberFormatException e) {
      throw error(lineOf(key), qualify(key), "must be a number, got '" + value + "'");
    }
    if (!(parsed >= min && parsed <= max)) {
      throw error(lineOf(key), qualify(key), "must be between " + min + " and " + max + ", got " + value);
    }
    return parsed;
  }

  public boolean bool(String key, boolean defaultValue) {
    String value = scalar(key);
    if (value == null || value.isBlank()) {
      return defaultValue;
    }
    return switch (value.trim().toLowerCase()) {
      case "true", "yes", "on" -> true;
      case "false", "no", "off" -> false;
      default -> throw error(lineOf(key), qualify(key), "must be true or false, got '" + value + "'");
    };
  }

  public String oneOf(String key, String defaultValue, Set<String> allowed) {
    String value = string(key, defaultValue);
    if (value != null && !allowed.contains(value)) {
      throw error(lineOf(key), qualify(key), "must be one of " + allowed + ", got '" + value + "'");
    }
    return value;
  }

  /** A nested mapping; an absent key reads as an empty mapping so that defaults apply. */
  public ConfigNode child(String key) {
    read.add(key);
    NodeTuple tuple = entries.get(key);
    return new ConfigNode(file, qualify(key), tuple == null ? null : tuple.getValueNode(), env, envOverrides);
  }

  /** A list of mappings, each read as its own node ({@code path[i]}); no environment overrides inside. */
  public List<ConfigNode> children(String key) {
    read.add(key);
    NodeTuple tuple = entries.get(key);
    if (tuple == null) {
      return List.of();
    }
    if (!(tuple.getValueNode() instanceof SequenceNode sequence)) {
      throw error(lineOf(key), qualify(key), "must be a list");
    }
    List<ConfigNode> nodes = new ArrayList<>();
    for (int i = 0; i < sequence.getValue().size(); i++) {
      nodes.add(new ConfigNode(file, qualify(key) + "[" + i + "]", sequence.getValue().get(i), env, false));
    }
    return nodes;
  }

  /** A list of scalars, e.g. {@code [a, b]}, or a comma-separated string. */
  public List<String> strings(String key, List<String> defaultValue) {
    read.add(key);
    String fromEnv = envValue(key);
    if (fromEnv != null) {
      return splitList(fromEnv);
    }
    NodeTuple tuple = entries.get(key);
    if (tuple == null) {
      return defaultValue;
    }
    if (tuple.getValueNode() instanceof ScalarNode scalar) {
      return splitList(resolve(key, scalar.getValue()));
    }
    if (!(tuple.getValueNode() instanceof SequenceNode sequence)) {
      throw error(lineOf(key), qualify(key), "must be a list of values");
    }
    List<String> values = new ArrayList<>();
    for (Node item : sequence.getValue()) {
      if (!(item instanceof ScalarNode scalar)) {
        throw error(item.getStartMark().getLine() + 1, qualify(key), "must be a list of plain values");
      }
      values.add(resolve(key, scalar.getValue()));
    }
    return List.copyOf(values);
  }

  /** A mapping of names to plain values (e.g. a platform's credentials), with {@code ${ENV}} resolved. */
  public Map<String, String> stringMap(String key) {
    ConfigNode node = child(key);
    Map<String, String> values = new LinkedHashMap<>();
    for (String name : node.entries.keySet()) {
      String value = node.scalar(name);
      if (value != null) {
        values.put(name, value);
      }
    }
    return values;
  }

  /** Fails on any key that was never read: the usual sign of a typo. */
  public void rejectUnknownKeys() {
    for (String key : entries.keySet()) {
      if (!read.contains(key)) {
        String hint = closest(key, read);
        throw error(lineOf(key), qualify(key), "is not a known setting"
          + (hint == null ? "" : " (did you mean '" + hint + "'?)"));
      }
    }
  }

  /** Declares keys that are valid here even if this code path did not read them. */
  public void allow(String... keys) {
    read.addAll(List.of(keys));
  }

  public ConfigException error(String key, String message) {
    return error(lineOf(key), qualify(key), message);
  }

  private String scalar(String key) {
    read.add(key);
    String fromEnv = envValue(key);
    if (fromEnv != null) {
      return fromEnv;
    }
    NodeTuple tuple = entries.get(key);
    if (tuple == null) {
      return null;
    }
    if (!(tuple.getValueNode() instanceof ScalarNode scalar)) {
      throw error(lineOf(key), qualify(key), "must be a single value, not a list or mapping");
    }
    if ("tag:yaml.org,2002:null".equals(scalar.getTag().getValue())) {
      return null;
    }
    return resolve(key, scalar.getValue());
  }

  private String resolve(String key, String raw) {
    Matcher matcher = ENV_REF.matcher(raw);
    StringBuilder out = new StringBuilder();
    while (matcher.find()) {
      String name = matcher.group(1);
      String value = env.get(name);
      if (value == null) {
        if (matcher.group(2) == null) {
          throw error(lineOf(key), qualify(key), "refers to environment variable " + name
            + ", which is not set (write ${" + name + ":-} to make it optional)");
        }
        value = matcher.group(3);
      }
      matcher.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    matcher.appendTail(out);
    return out.toString();
  }

  private String envValue(String key) {
    if (!envOverrides) {
      return null;
    }
    String name = envName(qualify(key));
    String value = env.get(name);
    return value == null || value.isEmpty() ? null : value;
  }

  /** {@code server.max_body_bytes} → {@code SWITCHBOARD_SERVER_MAX_BODY_BYTES}. */
  public static String envName(String path) {
    return "SWITCHBOARD_" + path.toUpperCase().replace('.', '_');
  }

  private String qualify(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  private int lineOf(String key) {
    NodeTuple tuple = entries.get(key);
    return tuple == null ? line : tuple.getKeyNode().getStartMark().getLine() + 1;
  }

  private ConfigException error(int atLine, String key, String message) {
    String where = atLine > 0 ? file + " line " + atLine : file;
    String fromEnv = env.get(envName(key));
    if (envOverrides && fromEnv != null && !fromEnv.isEmpty()) {
      where = "environment variable " + envName(key);
    }
    return new ConfigException(where + ": " + key + " " + message);
  }

  private static List<String> splitList(String value) {
    return value.isBlank() ? List.of() : List.of(value.trim().split("\\s*,\\s*"));
  }

  private static String closest(String key, Set<String> known) {
    String best = null;
    int bestDistance = 3;
    for (String candidate : known) {
      int distance = editDistance(key, candidate);
      if (distance < bestDistance) {
        best = candidate;
        bestDistance = distance;
      }
    }
    return best;
  }

  private static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
