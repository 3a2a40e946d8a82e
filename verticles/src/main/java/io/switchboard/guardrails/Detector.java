package io.switchboard.guardrails;

import java.util.List;

/** Finds what a policy looks for in normalized text; hits are in the normalized text's coordinates. */
interface Detector {
  /** One thing found: {@code [start, end)} and what replaces it when the policy redacts. */
  record Hit(int start, int end, String placeholder) {
  }

  void find(NormalizedText text, List<Hit> hits);

  /**
   * Whether a hit that ends where the text ends stands as it is: a word does; a number may still be growing
   * (a stream's next chunk can add digits), so a PII hit there waits for more text or the end.
   */
  boolean finalAtEnd();
}
