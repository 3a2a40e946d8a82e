package io.switchboard;

import io.switchboard.testing.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The embedded default: memory in the node's own memory. */
class InMemoryMemoryTest extends MemoryContract {
  private static TestNode node;

  @BeforeAll
  static void start() {
    node = TestNode.start(config("session: {store: memory}\n"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @Override
  TestNode node() {
    return node;
  }
}
