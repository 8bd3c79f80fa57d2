import { describe, expect, it } from "vitest";
import { ConfigError, readStackFile, validateStackConfig } from "../../components/config";
import { kubernetesSchema } from "../../components/platforms/kubernetes";
import { K8S_STACK } from "./harness";

/** The k8s stack file with `kubernetes` replaced. */
function validate(kubernetes: unknown): ConfigError | undefined {
  const raw = readStackFile(K8S_STACK);
  try {
    validateStackConfig({ plain: { ...raw.plain, kubernetes }, secretKeys: raw.secretKeys });
    return undefined;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

describe("kubernetes config", () => {
  it("the k8s stack file is valid and says what it deploys", () => {
    const raw = readStackFile(K8S_STACK);
    const cfg = validateStackConfig(raw);
    expect(cfg.platform).toBe("kubernetes");
    expect(cfg.kubernetes.prometheus.replicas).toBe(2);
    expect(cfg.kubernetes.alertmanager.replicas).toBe(2);
    expect(cfg.kubernetes.grafana.ingress.enabled).toBe(false);
    // Secrets are placeholders to be set with `pulumi config set --secret`, never plain text.
    expect([...raw.secretKeys].sort()).toEqual(["drmApiKey", "grafanaAdminPassword"]);
  });

  it("defaults give a working single-replica stack in namespace monitoring", () => {
    const d = kubernetesSchema.parse(undefined);
    expect(d.namespace).toBe("monitoring");
    expect(d.prometheus).toEqual({ replicas: 1, replicaLabel: "replica", remoteWrite: [] });
    expect(d.alertmanager.replicas).toBe(1);
    expect(d.gpuNodes.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" });
    expect(d.networkPolicies).toBe(true);
    expect(d.renderYamlToDirectory).toBeUndefined();
    expect(kubernetesSchema.parse({})).toEqual(d);
  });

  const invalid: [string, unknown, string][] = [
    ["namespace not a DNS label", { namespace: "Monitoring_NS" }, "kubernetes.namespace"],
    ["PVC size not a quantity", { storage: { prometheus: "50 gigs" } }, "kubernetes.storage.prometheus"],
    ["unknown key", { storage: { prometheusSize: "50Gi" } }, "kubernetes.storage.prometheusSize"],
    ["zero Prometheus replicas", { prometheus: { replicas: 0 } }, "kubernetes.prometheus.replicas"],
    ["fractional Alertmanager replicas", { alertmanager: { replicas: 1.5 } }, "kubernetes.alertmanager.replicas"],
    ["replica label not a label name", { prometheus: { replicaLabel: "replica-id" } }, "kubernetes.prometheus.replicaLabel"],
    ["remote_write URL not http(s)", { prometheus: { remoteWrite: [{ url: "ftp://mimir.example.org/push" }] } }, "kubernetes.prometheus.remoteWrite.0.url"],
    [
      "remote_write with both basic auth and a bearer token",
      { prometheus: { remoteWrite: [{ url: "https://m.example.org/push", basicAuth: { username: "u", passwordSecretKey: "p" }, bearerTokenSecretKey: "t" }] } },
      "kubernetes.prometheus.remoteWrite.0.bearerTokenSecretKey",
    ],
    ["ingress on without a host", { grafana: { ingress: { enabled: true } } }, "kubernetes.grafana.ingress.host"],
    ["toleration operator", { gpuNodes: { tolerations: [{ key: "nvidia.com/gpu", operator: "Maybe" }] } }, "kubernetes.gpuNodes.tolerations.0.operator"],
    ["runtime class not a DNS label", { gpuNodes: { runtimeClassName: "NVIDIA Runtime" } }, "kubernetes.gpuNodes.runtimeClassName"],
    ["exporter workloads", { exporterWorkloads: "sidecar" }, "kubernetes.exporterWorkloads"],
    ["resource limit not a quantity", { resources: { grafana: { memoryLimit: "lots" } } }, "kubernetes.resources.grafana.memoryLimit"],
    ["resources for an unknown component", { resources: { thanos: { cpuLimit: "1" } } }, "kubernetes.resources.thanos"],
  ];
  for (const [what, kubernetes, key] of invalid) {
    it(`rejects ${what}, naming ${key}`, () => {
      const err = validate(kubernetes);
      expect(err, what).toBeInstanceOf(ConfigError);
      expect(err!.problems.map((p) => p.key)).toContain(key);
    });
  }
});
