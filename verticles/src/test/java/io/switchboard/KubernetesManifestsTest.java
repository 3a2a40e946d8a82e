package io.switchboard;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.XmlConfigBuilder;
import io.switchboard.config.ConfigLoader;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.testing.Http;
import io.switchboard.testing.Scrape;
import io.switchboard.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.switchboard.testing.TestConfigs.ACME_KEY;
import static io.switchboard.testing.TestConfigs.GATEWAY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The manifests under {@code docker/k8s/} fit together and fit the gateway: the ConfigMap's configuration loads with
 * the environment the pod gets, its ports are the container's, the probes ask for paths a real node answers on its
 * management port, selectors select the pods, Hazelcast finds its members through the headless Service, and the
 * metric the HPA scales on is one a node exports.
 */
class KubernetesManifestsTest {
  private static final Path K8S = Path.of("../docker/k8s");
  private static final Map<String, Map<String, Object>> BY_KIND_AND_NAME = new HashMap<>();
  private static TestNode node;

  @BeforeAll
  static void load() throws Exception {
    try (Stream<Path> files = Files.list(K8S)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).toList()) {
        if (file.getFileName().toString().equals("prometheus-adapter.yaml")) {
          continue; // Helm values, not a manifest
        }
        for (Object document : new Yaml().loadAll(Files.readString(file))) {
          Map<String, Object> manifest = map(document);
          assertNotNull(manifest.get("apiVersion"), file + ": apiVersion");
          Map<String, Object> metadata = map(manifest.get("metadata"));
          String name = (String) metadata.get("name");
          if (!manifest.get("kind").equals("Namespace")) {
            assertEquals("switchboard", metadata.get("namespace"), file + ": " + name + " in the namespace");
          }
          BY_KIND_AND_NAME.put(manifest.get("kind") + "/" + name, manifest);
        }
      }
    }
    node = TestNode.start(GATEWAY);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    assertTrue(o instanceof Map, "a mapping: " + o);
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o) {
    assertTrue(o instanceof List, "a list: " + o);
    return (List<Object>) o;
  }

  private static Map<String, Object> manifest(String kindAndName) {
    Map<String, Object> manifest = BY_KIND_AND_NAME.get(kindAndName);
    assertNotNull(manifest, kindAndName + " is in docker/k8s");
    return manifest;
  }

  private static Object at(Object root, String... path) {
    Object o = root;
    for (String key : path) {
      o = map(o).get(key);
      assertNotNull(o, String.join(".", path) + " (at " + key + ")");
    }
    return o;
  }

  private static Map<String, Object> container() {
    return map(list(at(manifest("Deployment/switchboard"), "spec", "template", "spec", "containers")).get(0));
  }

  private static Map<String, Object> podLabels() {
    return map(at(manifest("Deployment/switchboard"), "spec", "template", "metadata", "labels"));
  }

  private static int containerPort(String name) {
    for (Object port : list(container().get("ports"))) {
      if (map(port).get("name").equals(name)) {
        return (Integer) map(port).get("containerPort");
      }
    }
    throw new AssertionError("no container port named " + name);
  }

  private static String mountPath(String volume) {
    for (Object mount : list(container().get("volumeMounts"))) {
      if (map(mount).get("name").equals(volume)) {
        return (String) map(mount).get("mountPath");
      }
    }
    throw new AssertionError("no volume mount " + volume);
  }

  /** What the pod's environment holds: the Secret's keys and the Deployment's env (values stand in). */
  private static Map<String, String> podEnvironment() {
    Map<String, String> env = new HashMap<>();
    for (Object from : list(container().get("envFrom"))) {
      String secret = (String) at(from, "secretRef", "name");
      map(at(manifest("Secret/" + secret), "stringData")).forEach((k, v) -> env.put(k, String.valueOf(v)));
    }
    for (Object variable : list(container().get("env"))) {
      Map<String, Object> e = map(variable);
      env.put((String) e.get("name"), e.containsKey("value") ? String.valueOf(e.get("value")) : "10.1.2.3");
    }
    return env;
  }

  private static SwitchboardConfig podConfig() {
    String yaml = (String) at(manifest("ConfigMap/switchboard-config"), "data", "switchboard.yaml");
    return ConfigLoader.parse("configmap.yaml switchboard.yaml", yaml, podEnvironment());
  }

  @Test
  void the_configmap_config_loads_and_its_ports_and_files_are_the_pods() {
    SwitchboardConfig config = podConfig();
    assertEquals(containerPort("api"), config.server().port());
    assertEquals(containerPort("management"), config.management().port());
    assertEquals("10.1.2.3", config.cluster().host(), "the cluster host is the pod's IP");
    assertTrue(config.cluster().enabled());
    assertEquals(mountPath("cluster-xml"), config.cluster().configFile(), "the Hazelcast XML is mounted where "
      + "the config says");
    List<Object> args = list(container().get("args"));
    assertEquals(mountPath("config") + "/switchboard.yaml", args.get(args.indexOf("--conf") + 1));
    for (Object volume : list(at(manifest("Deployment/switchboard"), "spec", "template", "spec", "volumes"))) {
      String configMap = (String) at(volume, "configMap", "name");
      Map<String, Object> data = map(at(manifest("ConfigMap/" + configMap), "data"));
      for (Object item : list(at(volume, "configMap", "items"))) {
        assertTrue(data.containsKey(map(item).get("key")), "the ConfigMap holds " + map(item).get("key"));
      }
    }
    String redisHost = config.session().redisUrl().replaceAll("redis://([^:/]+).*", "$1");
    manifest("Service/" + redisHost);
    assertEquals(6379, (Integer) map(list(at(manifest("Service/" + redisHost), "spec", "ports")).get(0)).get("port"));
  }

  @Test
  void probes_ask_the_management_port_for_paths_a_node_answers() {
    Map<String, Object> c = container();
    assertEquals("/ready", at(c, "readinessProbe", "httpGet", "path"));
    assertEquals("/health", at(c, "livenessProbe", "httpGet", "path"));
    for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
      assertEquals("management", at(c, probe, "httpGet", "port"), probe + " on the management port");
      String path = (String) at(c, probe, "httpGet", "path");
      assertEquals(200, Http.get(node.managementUrl() + path).statusCode(), path + " answers on a real node");
    }
    List<Object> preStop = list(at(c, "lifecycle", "preStop", "exec", "command"));
    int sleep = Integer.parseInt(String.valueOf(preStop.get(1)));
    int grace = (Integer) at(manifest("Deployment/switchboard"), "spec", "template", "spec",
      "terminationGracePeriodSeconds");
    // the connection verticle drains for up to 30 s after SIGTERM
    assertTrue(grace >= sleep + 30 + 5, "the grace period covers the preStop wait and the drain: " + grace);
  }

  @Test
  void services_pdb_and_hpa_select_the_pods() {
    Map<String, Object> labels = podLabels();
    Map<String, Object> matchLabels = map(at(manifest("Deployment/switchboard"), "spec", "selector", "matchLabels"));
    assertTrue(labels.entrySet().containsAll(matchLabels.entrySet()), "the Deployment selects its pods");
    for (String service : List.of("switchboard", "switchboard-management", "switchboard-hazelcast")) {
      Map<String, Object> spec = map(at(manifest("Service/" + service), "spec"));
      assertTrue(labels.entrySet().containsAll(map(spec.get("selector")).entrySet()), service + " selects the pods");
      for (Object port : list(spec.get("ports"))) {
        containerPort((String) map(port).get("targetPort"));
      }
    }
    assertEquals("None", at(manifest("Service/switchboard-hazelcast"), "spec", "clusterIP"), "headless");
    assertTrue(labels.entrySet().containsAll(map(at(manifest("PodDisruptionBudget/switchboard"), "spec", "selector",
      "matchLabels")).entrySet()));
    Map<String, Object> redisPod = map(at(manifest("StatefulSet/switchboard-redis"), "spec", "template", "metadata",
      "labels"));
    assertTrue(redisPod.entrySet().containsAll(map(at(manifest("Service/switchboard-redis"), "spec", "selector"))
      .entrySet()));
    Map<String, Object> hpa = map(at(manifest("HorizontalPodAutoscaler/switchboard"), "spec"));
    assertEquals("Deployment", at(hpa, "scaleTargetRef", "kind"));
    assertEquals("switchboard", at(hpa, "scaleTargetRef", "name"));
  }

  @Test
  void hazelcast_finds_its_members_through_the_headless_service() throws Exception {
    String xml = (String) at(manifest("ConfigMap/switchboard-config"), "data", "cluster-k8s.xml");
    Config hazelcast = new XmlConfigBuilder(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8))).build();
    JoinConfig join = hazelcast.getNetworkConfig().getJoin();
    assertTrue(join.getKubernetesConfig().isEnabled());
    assertTrue(!join.getTcpIpConfig().isEnabled() && !join.getMulticastConfig().isEnabled());
    assertEquals("switchboard-hazelcast.switchboard.svc.cluster.local",
      join.getKubernetesConfig().getProperty("service-dns"));
    assertEquals(containerPort("hazelcast"), hazelcast.getNetworkConfig().getPort());
    assertEquals(hazelcast.getNetworkConfig().getPort(),
      Integer.parseInt(join.getKubernetesConfig().getProperty("service-port")));
  }

  @Test
  void the_metric_the_hpa_scales_on_is_exported_and_the_adapter_serves_it() throws Exception {
    List<String> names = new ArrayList<>();
    for (Object metric : list(at(manifest("HorizontalPodAutoscaler/switchboard"), "spec", "metrics"))) {
      Map<String, Object> m = map(metric);
      if (m.get("type").equals("Resource")) {
        assertEquals("cpu", at(m, "resource", "name"));
      } else {
        assertEquals("Pods", m.get("type"));
        names.add((String) at(m, "pods", "metric", "name"));
      }
    }
    assertEquals(List.of("switchboard_turns_inflight"), names);
    Map<String, Object> adapter = new Yaml().load(Files.readString(K8S.resolve("prometheus-adapter.yaml")));
    Map<String, Object> rule = map(list(at(adapter, "rules", "custom")).get(0));
    assertEquals(names.get(0), at(rule, "name", "as"));
    assertTrue(Scrape.metricNames((String) rule.get("seriesQuery")).contains(names.get(0)));

    assertEquals(200, Http.post(node.baseUrl() + "/v1/chat/completions", new JsonObject()
      .put("model", "switchboard-simulator").put("messages", new JsonArray()
        .add(new JsonObject().put("role", "user").put("content", "scale me"))).encode(),
      "authorization", "Bearer " + ACME_KEY).statusCode());
    Scrape scrape = new Scrape(Http.get(node.managementUrl() + "/metrics").body());
    assertTrue(scrape.has(names.get(0)), "a node exports " + names.get(0));
  }
}
