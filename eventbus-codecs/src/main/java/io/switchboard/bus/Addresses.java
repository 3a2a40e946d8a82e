package io.switchboard.bus;

/**
 * Event bus addresses: lowercase dotted nouns; the public API of each verticle. Each service address is
 * registered twice by its verticle: node-locally as itself, and cluster-wide as {@link #cluster(String)},
 * so that a caller stays on its own node whenever the service runs there.
 */
public final class Addresses {
  /** {@link ChatRequest} in, {@link ChatResult} back (or an {@link ApiError} failure). */
  public static final String ROUTING_CHAT = "switchboard.routing.chat";
  /** {@link EmbeddingRequest} in, {@link EmbeddingResult} back (or an {@link ApiError} failure). */
  public static final String ROUTING_EMBEDDINGS = "switchboard.routing.embeddings";
  /** {@link TranscriptionRequest} in, {@link TranscriptionResult} back (or an {@link ApiError} failure). */
  public static final String ROUTING_TRANSCRIPTIONS = "switchboard.routing.transcriptions";
  /** Empty body in, {@link ModelCatalog} back. */
  public static final String ROUTING_MODELS = "switchboard.routing.models";
  /** Node-local: empty body in, a JSON view of this node's routes and deployment health back. */
  public static final String ROUTING_STATE = "switchboard.routing.state";
  /** {@link PromptQuery} in, the prompt to send upstream (stored turns + new ones, trimmed) as a {@link History} back. */
  public static final String SESSION_PROMPT = "switchboard.session.prompt";
  /** {@link HistoryQuery} in, {@link History} back. */
  public static final String SESSION_LOAD = "switchboard.session.load";
  /** The tenant (String) in, a JSON array of its conversation ids back. */
  public static final String SESSION_LIST = "switchboard.session.list";
  /** {@link HistoryQuery} in, whether it existed (Boolean) back. */
  public static final String SESSION_DELETE = "switchboard.session.delete";
  /** {@link IdentityQuery} in, the person id (String) back. */
  public static final String SESSION_IDENTIFY = "switchboard.session.identify";
  /** {@link IdentityLink} in, the person id (String) back. */
  public static final String SESSION_LINK = "switchboard.session.link";
  /** {@link HistoryAppend} in, no reply needed (an empty reply when asked). */
  public static final String SESSION_APPEND = "switchboard.session.append";
  /** A stored {@code /v1/responses} answer: {@code {"tenant","id"}} in, its record (a JsonObject) or null back. */
  public static final String SESSION_RESPONSE_GET = "switchboard.session.response.get";
  /** {@code {"tenant","id","record"}} in, an empty reply once stored. */
  public static final String SESSION_RESPONSE_PUT = "switchboard.session.response.put";
  /** {@code {"tenant","id"}} in, whether it existed (Boolean) back. */
  public static final String SESSION_RESPONSE_DELETE = "switchboard.session.response.delete";

  private Addresses() {
  }

  /** {@link CancelTurn}s, published to every router and inference proxy in the cluster. */
  public static final String TURN_CANCEL = "switchboard.turn.cancel";
  /** {@link StreamFlow} pause/resume orders, published to every inference proxy in the cluster. */
  public static final String TURN_FLOW = "switchboard.turn.flow";
  /** Manual degrade switches (JSON {@code {"model","to"}}; {@code to} null restores), published to every router. */
  public static final String ROUTING_DEGRADE = "switchboard.routing.degrade";

  /**
   * Node-local: a response cache flush order (JSON {@code {"tenant","model"}}, either null for any) in, what was
   * removed back. The node's cache flushes Redis, then publishes {@link #CACHE_FLUSH_LOCAL}.
   */
  public static final String CACHE_FLUSH = "switchboard.cache.flush";
  /** The same order published to every node: each drops the matching entries of its local layer. */
  public static final String CACHE_FLUSH_LOCAL = "switchboard.cache.flush.local";

  /**
   * Node-local: new weights for one model's deployments, {@code {"model": m, "weights": {id: weight}}}, for every
   * routing verticle of the node (the node's control hears the cluster-wide order and passes it on).
   */
  public static final String ROUTING_WEIGHTS = "switchboard.routing.weights";

  /** Node-local: the node is shutting down (SIGTERM): from now on responses close their keep-alive connection. */
  public static final String NODE_DRAINING = "switchboard.node.draining";

  /** Cluster-wide: a configuration to apply ({@code {"yaml": text, "sha256": hash, "origin": node}}). */
  public static final String CONTROL_CONFIG = "switchboard.control.config";

  /** Cluster-wide: weights set by an operator, {@code {"model": m, "weights": {id: weight}}}. */
  public static final String CONTROL_WEIGHTS = "switchboard.control.weights";

  /** Node-local: the Vert.x cluster node id (String) of a node that left the cluster. */
  public static final String CLUSTER_NODE_LEFT = "switchboard.cluster.node.left";

  /** Where a routing verticle hears which node took an attempt ({@link AttemptStarted}). */
  public static String routingControl(String nodeId) {
    return "switchboard.routing.control." + nodeId;
  }

  /** Where a routing verticle grants hedged attempts the right to stream ({@link StreamGrant}). */
  public static String routingGrant(String nodeId) {
    return "switchboard.routing.grant." + nodeId;
  }

  /** An inference proxy's door for one deployment: {@link ChatRequest} in, {@link ChatResult} back. */
  public static String inference(String deployment) {
    return "switchboard.inference." + deployment;
  }

  /** An inference proxy's door for one embedding deployment: {@link EmbeddingRequest} in, {@link EmbeddingResult}. */
  public static String inferenceEmbeddings(String deployment) {
    return "switchboard.embeddings." + deployment; // not under inference.: a deployment id may hold dots
  }

  /** An inference proxy's door for one transcription deployment: {@link TranscriptionRequest} in, its result back. */
  public static String inferenceTranscriptions(String deployment) {
    return "switchboard.transcriptions." + deployment;
  }

  /** The cluster-wide twin of a node-local service address. */
  public static String cluster(String address) {
    return address + ".cluster";
  }

  /**
   * Where stream chunks and stream ends ({@link StreamChunk}) for one connection verticle instance arrive, and
   * where routing asks what a client has of a stream ({@link StreamProgress}); registered once at start-up.
   */
  public static String inbox(String nodeId, int instance) {
    return "switchboard.inbox." + nodeId + "." + instance;
  }
}
