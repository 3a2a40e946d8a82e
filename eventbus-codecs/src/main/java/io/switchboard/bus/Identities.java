package io.switchboard.bus;

import java.util.regex.Pattern;

/** What channel names and senders' ids may look like, so they can be stored under keys safely. */
public final class Identities {
  private static final Pattern CHANNEL = Pattern.compile("[a-z0-9][a-z0-9._\\-]{0,63}");

  private Identities() {
  }

  public static void checkChannel(String channel) {
    if (channel == null || !CHANNEL.matcher(channel).matches()) {
      throw new IllegalArgumentException("channel must be 1-64 characters of a-z 0-9 . _ -");
    }
  }

  public static void checkExternalId(String id) {
    if (id == null || id.isEmpty() || id.length() > 256 || id.chars().anyMatch(c -> c < 0x20)) {
      throw new IllegalArgumentException("a sender id must be 1-256 printable characters");
    }
  }

  /** The conversation a person's chats from IM channels share. */
  public static String conversationOf(String personId) {
    return "person-" + personId;
  }
}
