package io.switchboard.routing;

import io.switchboard.bus.Addresses;
import io.switchboard.bus.ApiError;
import io.switchboard.bus.ChatRequest;
import io.switchboard.bus.ChatResult;
import io.switchboard.bus.ModelCatalog;
import io.switchboard.config.SwitchboardConfig.Deployment;
import io.switchboard.eventbus.PreferLocal;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Admission and choice of deployment: maps a public model name to one of its deployments and hands the
 * turn to that deployment's inference proxy, on this node when it runs one, else wherever one runs.
 */
public final class RoutingVerticle extends VerticleBase {
  /** Time the event bus grants on top of the turn's own timeout, so the upstream's 504 wins the race. */
  private static final long BUS_MARGIN_MILLIS = 2_000;

  private final Map<String, DeploymentChooser> choosers = new LinkedHashMap<>();
  private final ModelCatalog catalog;

  public RoutingVerticle(List<Deployment> deployments) {
    Map<String, List<Deployment>> byModel = new LinkedHashMap<>();
    for (Deployment deployment : deployments) {
      byModel.computeIfAbsent(deployment.modelName(), k -> new ArrayList<>()).add(deployment);
    }
    List<ModelCatalog.Model> models = new ArrayList<>();
    long created = System.currentTimeMillis() / 1000;
    byModel.forEach((model, list) -> {
      choosers.put(model, new DeploymentChooser(list));
      models.add(new ModelCatalog.Model(model, list.get(0).ownedBy(), created));
    });
    this.catalog = new ModelCatalog(models);
  }

  @Override
  public Future<?> start() {
    return Future.all(PreferLocal.<ChatRequest>serve(vertx.eventBus(), Addresses.ROUTING_CHAT, this::route),
      PreferLocal.serve(vertx.eventBus(), Addresses.ROUTING_MODELS, message -> message.reply(catalog)));
  }

  private void route(Message<ChatRequest> message) {
    ChatRequest request = message.body();
    DeploymentChooser chooser = choosers.get(request.model());
    if (chooser == null) {
      ApiError.modelNotFound(request.model()).failReply(message);
      return;
    }
    Deployment deployment = chooser.next();
    if (deployment == null) {
      ApiError.unavailable("No deployment of '" + request.model() + "' is taking traffic.").failReply(message);
      return;
    }
    PreferLocal.<ChatResult>request(vertx.eventBus(), Addresses.inference(deployment.id()), request,
        request.timeoutMillis() + BUS_MARGIN_MILLIS)
      .onSuccess(reply -> message.reply(reply.body()))
      .onFailure(failure -> ApiError.from(failure).failReply(message));
  }
}
