package io.switchboard.bus;

/**
 * What routing reads of a client's request, whatever it asks for (a chat turn, an embeddings call): whose it is,
 * which public model, how long it may take, and where one attempt of it is sent. Choice of deployment, retries,
 * fallbacks, breakers, queueing and deadlines are the same for every kind.
 */
public interface RoutedRequest {
  String requestId();

  String tenant();

  String model();

  long timeoutMillis();

  int priority();

  /**
   * What the request asks of a model, as the config's {@code model_info.mode} says: a model serves one mode only,
   * and a request for another mode is refused naming the endpoint to use.
   */
  default String mode() {
    return "chat";
  }

  /** For conversation affinity; null when the request belongs to no conversation. */
  default String conversationId() {
    return null;
  }

  /** Whether the answer streams to {@link #inbox()}; a streamed answer is continued, never retried whole. */
  default boolean stream() {
    return false;
  }

  default String inbox() {
    return null;
  }

  /** The sequence number of the first chunk this request's stream still owes its client (0 when not streaming). */
  default int seqStart() {
    return 0;
  }

  /** Where an inference proxy takes one attempt of this request at the given deployment. */
  default String inferenceAddress(String deployment) {
    return Addresses.inference(deployment);
  }
}
