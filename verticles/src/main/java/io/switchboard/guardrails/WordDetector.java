package io.switchboard.guardrails;

import org.ahocorasick.trie.Emit;
import org.ahocorasick.trie.Trie;

import java.util.List;

/**
 * An operator's word list as one Aho-Corasick automaton over normalized words: one pass over a message finds
 * every listed word in it, however many words the list holds.
 */
final class WordDetector implements Detector {
  private final Trie trie;
  private final String placeholder;

  WordDetector(List<String> words, String placeholder) {
    Trie.TrieBuilder builder = Trie.builder();
    for (String word : words) {
      builder.addKeyword(NormalizedText.word(word));
    }
    this.trie = builder.build();
    this.placeholder = placeholder;
  }

  @Override
  public void find(NormalizedText text, List<Hit> hits) {
    for (Emit emit : trie.parseText(text.text())) {
      hits.add(new Hit(emit.getStart(), emit.getEnd() + 1, placeholder));
    }
  }

  /** Whether the text holds a listed word (stops at the first). */
  boolean any(NormalizedText text) {
    return trie.firstMatch(text.text()) != null;
  }

  @Override
  public boolean finalAtEnd() {
    return true;
  }
}
