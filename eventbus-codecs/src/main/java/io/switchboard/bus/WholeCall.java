package io.switchboard.bus;

/**
 * A routed request answered whole, never streamed (an embeddings call, a transcription): routing retries it and
 * falls back with the same request against another model, and one inference-proxy path serves every kind.
 */
public interface WholeCall extends RoutedRequest {
  int attempt();

  /** Where the proxy that takes an attempt says which cluster node it runs on (null: nobody asks). */
  String controlAddress();

  /** Another try of the same call, against the given public model. */
  WholeCall retry(String newModel, int newAttempt, long remainingMillis, String newControlAddress);

  /** The answer to a {@link WholeCall}: how long its upstream took, for routing's latency view. */
  interface Answer {
    long millis();

    Answer withMillis(long answerMillis);
  }
}
