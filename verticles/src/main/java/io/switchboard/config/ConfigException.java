package io.switchboard.config;

/** A configuration mistake, with a message that names the file, line and key. Stops the node. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
