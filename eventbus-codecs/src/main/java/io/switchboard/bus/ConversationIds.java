package io.switchboard.bus;

import java.util.regex.Pattern;

/** What a client may use as a conversation id: short, printable, no separators that could collide in keys. */
public final class ConversationIds {
  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9._\\-]{1,128}");

  private ConversationIds() {
  }

  public static boolean isValid(String id) {
    return id != null && VALID.matcher(id).matches();
  }

  public static void check(String id) {
    if (!isValid(id)) {
      throw new IllegalArgumentException("conversation id must be 1-128 characters of A-Z a-z 0-9 . _ -");
    }
  }
}
