package io.switchboard.bus;

/**
 * Event bus addresses: lowercase dotted nouns; the public API of each verticle. Each service address is
 * registered twice by its verticle: node-locally as itself, and cluster-wide as {@link #cluster(String)},
 * so that a caller stays on its own node whenever the service runs there.
 */
public final class Addresses {
  /** {@link ChatRequest} in, {@link ChatResult} back (or an {@link ApiError} failure). */
  public static final String ROUTING_CHAT = "switchboard.routing.chat";
  /** Empty body in, {@link ModelCatalog} back. */
  public static final String ROUTING_MODELS = "switchboard.routing.models";
  /** {@link HistoryQuery} in, {@link History} back. */
  public static final String SESSION_LOAD = "switchboard.session.load";
  /** {@link HistoryAppend} in, no reply needed (an empty reply when asked). */
  public static final String SESSION_APPEND = "switchboard.session.append";

  private Addresses() {
  }

  /** An inference proxy's door for one deployment: {@link ChatRequest} in, {@link ChatResult} back. */
  public static String inference(String deployment) {
    return "switchboard.inference." + deployment;
  }

  /** The cluster-wide twin of a node-local service address. */
  public static String cluster(String address) {
    return address + ".cluster";
  }

  /** Where stream chunks for one connection verticle instance arrive; registered once at start-up. */
  public static String inbox(String nodeId, int instance) {
    return "switchboard.inbox." + nodeId + "." + instance;
  }
}
