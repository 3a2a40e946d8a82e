package io.switchboard.simulator;

import io.switchboard.json.JsonText;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** How the simulator cuts text into tokens, and the log probabilities it gives them. */
final class Tokens {
  static final String[] WORDS = ("the quick brown fox jumps over a lazy dog while switchboard relays every "
    + "token from model to person and back again with memory speed and care so that nobody waits longer than "
    + "needed for an answer").split(" ");
  private static final String[] ALTERNATIVES;

  static {
    Set<String> distinct = new LinkedHashSet<>(List.of(WORDS));
    ALTERNATIVES = distinct.toArray(String[]::new);
  }

  private Tokens() {
  }

  /**
   * Text (JSON, a tool's arguments) cut the way a tokenizer roughly does: a word with its leading space, or a run
   * of punctuation; never inside a surrogate pair.
   */
  static String[] fragments(String text) {
    List<String> out = new ArrayList<>();
    int n = text.length();
    int i = 0;
    while (i < n) {
      int start = i;
      if (wordAt(text, i) || (text.charAt(i) == ' ' && i + 1 < n && wordAt(text, i + 1))) {
        i++;
        while (i < n && wordAt(text, i)) {
          i++;
        }
      } else {
        i++;
        while (i < n && !wordAt(text, i) && !(text.charAt(i) == ' ' && i + 1 < n && wordAt(text, i + 1))) {
          i++;
        }
      }
      out.add(text.substring(start, i));
    }
    return out.toArray(String[]::new);
  }

  /** Text cut at spaces, each word after the first with its leading space. */
  static String[] words(String text) {
    String[] words = text.trim().split("\\s+");
    if (words.length == 1 && words[0].isEmpty()) {
      return new String[0];
    }
    for (int i = 1; i < words.length; i++) {
      words[i] = " " + words[i];
    }
    return words;
  }

  private static boolean wordAt(String text, int i) {
    return Character.isLetterOrDigit(text.charAt(i));
  }

  /**
   * One entry of {@code logprobs.content}: {@code {"token","logprob","bytes","top_logprobs":[...]}}, a function of
   * the token and its position only. The chosen token is the likeliest; {@code top - 1} other words follow it.
   */
  static void appendLogprob(StringBuilder out, String token, int position, int top) {
    long h = mix(token.hashCode() * 1_000_003L + position);
    int milli = 1 + (int) Math.floorMod(h, 500L);
    appendCandidate(out.append('{'), token, milli);
    out.append(",\"top_logprobs\":[");
    if (top > 0) {
      appendCandidate(out.append('{'), token, milli);
      out.append('}');
    }
    String bare = token.strip();
    int k = 1;
    for (int j = 0; k < top && j < ALTERNATIVES.length; j++) {
      String word = ALTERNATIVES[(int) Math.floorMod(h + j, (long) ALTERNATIVES.length)];
      if (word.equalsIgnoreCase(bare)) {
        continue;
      }
      milli += 700 + (int) Math.floorMod(h >>> (k * 3), 300L);
      appendCandidate(out.append(",{"), token.startsWith(" ") ? " " + word : word, milli);
      out.append('}');
      k++;
    }
    out.append("]}");
  }

  private static void appendCandidate(StringBuilder out, String token, int milli) {
    out.append("\"token\":");
    JsonText.appendQuoted(out, token);
    out.append(",\"logprob\":").append(-milli / 1000.0).append(",\"bytes\":[");
    byte[] bytes = token.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i++) {
      out.append(i == 0 ? "" : ",").append(bytes[i] & 0xff);
    }
    out.append(']');
  }

  /** SplitMix64's finaliser: spreads a seed over all 64 bits. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /** A 64-bit FNV-1a hash of a string's UTF-8 bytes. */
  static long hash(String text) {
    long h = 0xcbf29ce484222325L;
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    return h;
  }
}
