package io.switchboard.session;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import io.switchboard.bus.ChatMessage;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HistoryTrimmerTest {
  private static final HistoryTrimmer TRIMMER = HistoryTrimmer.o200k();
  private static final Encoding O200K = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.O200K_BASE);

  private static final ChatMessage SYSTEM = new ChatMessage("system", "You are a helpful assistant.");
  private static final ChatMessage U1 = user("What is the capital of France?");
  private static final ChatMessage A1 = assistant("The capital of France is Paris.");
  private static final ChatMessage U2 = user("And of Germany?");
  private static final ChatMessage A2 = assistant("Berlin is the capital of Germany.");
  private static final ChatMessage U3 = user("Which of the two is larger by population?");

  @Test
  void countsLikeOpenAisGuide() {
    ChatMessage named = new ChatMessage("user", "hello world", "alice");
    int expected = 3
      + (3 + tokens("system") + tokens(SYSTEM.text()))
      + (3 + tokens("user") + tokens("hello world") + tokens("alice") + 1);
    assertEquals(expected, TRIMMER.count(List.of(SYSTEM, named)));
    assertEquals(3, TRIMMER.count(List.of()));
  }

  @Test
  void returnsEverythingWhenItFits() {
    List<ChatMessage> conversation = List.of(SYSTEM, U1, A1, U2);
    assertEquals(conversation, TRIMMER.trim(conversation, TRIMMER.count(conversation)));
  }

  @Test
  void dropsTheOldestTurnsFirst() {
    List<ChatMessage> conversation = List.of(SYSTEM, U1, A1, U2, A2, U3);
    List<ChatMessage> withoutFirstTurn = List.of(SYSTEM, U2, A2, U3);

    int budget = TRIMMER.count(withoutFirstTurn);
    assertEquals(withoutFirstTurn, TRIMMER.trim(conversation, budget));
    // one token short of that, the second turn goes too
    assertEquals(List.of(SYSTEM, U3), TRIMMER.trim(conversation, budget - 1));
  }

  @Test
  void dropsAWholeTurnSoTheHistoryNeverStartsWithAnAnswer() {
    List<ChatMessage> conversation = List.of(U1, A1, U2, A2, U3);
    // room for A2 + U3 but not U2 as well: A2 alone would answer a question that is gone
    int budget = TRIMMER.count(List.of(A2, U3));
    assertEquals(List.of(U3), TRIMMER.trim(conversation, budget));
  }

  @Test
  void alwaysKeepsSystemAndDeveloperMessagesAndTheNewestMessage() {
    ChatMessage developer = new ChatMessage("developer", "Answer in French.");
    List<ChatMessage> conversation = List.of(SYSTEM, U1, A1, developer, U2, A2, U3);
    assertEquals(List.of(SYSTEM, developer, U3), TRIMMER.trim(conversation, 1));
    assertEquals(List.of(U3), TRIMMER.trim(List.of(U3), 1));
    assertEquals(List.of(), TRIMMER.trim(List.of(), 1));
  }

  @Test
  void keepsSystemMessagesWhereTheyStand() {
    ChatMessage developer = new ChatMessage("developer", "Answer in French.");
    List<ChatMessage> conversation = List.of(SYSTEM, U1, A1, U2, developer, A2, U3);
    List<ChatMessage> trimmed = TRIMMER.trim(conversation, TRIMMER.count(List.of(SYSTEM, U2, developer, A2, U3)));
    assertEquals(List.of(SYSTEM, U2, developer, A2, U3), trimmed);
  }

  @Test
  void aLongConversationFitsTheBudgetWithAsMuchRecentHistoryAsFits() {
    List<ChatMessage> conversation = new ArrayList<>();
    conversation.add(SYSTEM);
    for (int i = 0; i < 200; i++) {
      conversation.add(user("Question " + i + ": " + "tell me about the number " + i * 7919 + " please. ".repeat(i % 5)));
      conversation.add(assistant("Answer " + i + ": " + "it is a fine number, ".repeat(1 + i % 7)));
    }
    conversation.add(user("Summarize."));

    for (int budget : new int[] {100, 1_000, 4_000}) {
      List<ChatMessage> trimmed = TRIMMER.trim(conversation, budget);
      assertTrue(TRIMMER.count(trimmed) <= budget, "budget " + budget + " used " + TRIMMER.count(trimmed));
      assertEquals(SYSTEM, trimmed.get(0));
      assertEquals(conversation.get(conversation.size() - 1), trimmed.get(trimmed.size() - 1));
      // a contiguous run of the newest turns, and the next older turn would not have fit
      List<ChatMessage> history = trimmed.subList(1, trimmed.size());
      int from = conversation.size() - history.size();
      assertEquals(conversation.subList(from, conversation.size()), history);
      int nextOlderTurn = TRIMMER.count(conversation.subList(from - 2, from));
      assertTrue(TRIMMER.count(trimmed) + nextOlderTurn > budget);
    }
  }

  @Test
  void countsSpecialTokenTextAsOrdinaryText() {
    ChatMessage sneaky = user("ignore this <|endoftext|> marker");
    assertEquals(3 + 3 + tokens("user") + O200K.countTokensOrdinary(sneaky.text()), TRIMMER.count(List.of(sneaky)));
  }

  @Test
  void cl100kCountsDifferFromO200kButFollowTheSameRules() {
    HistoryTrimmer cl100k = HistoryTrimmer.cl100k();
    List<ChatMessage> conversation = List.of(SYSTEM, U1, A1, U2, A2, U3);
    List<ChatMessage> trimmed = cl100k.trim(conversation, cl100k.count(List.of(SYSTEM, U2, A2, U3)));
    assertEquals(List.of(SYSTEM, U2, A2, U3), trimmed);
  }

  private static int tokens(String text) {
    return O200K.countTokensOrdinary(text);
  }

  private static ChatMessage user(String text) {
    return new ChatMessage("user", text);
  }

  private static ChatMessage assistant(String text) {
    return new ChatMessage("assistant", text);
  }
}
