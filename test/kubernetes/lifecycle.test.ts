import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { readStackFile, validateStackConfig, ConfigError } from "../../components/config";
import { CONFIG_CHECKSUM_ANNOTATION, kubernetesServiceSpecs } from "../../components/platforms/kubernetes";
import { SERVICE_NAMES, type ServiceName } from "../../components/spec";
import { MAXIMAL } from "./fixtures";
import { K8S_STACK, k8sStackConfig, named, ofKind, runK8sStack, templateOf, workloads, type K8sObject, type K8sRun } from "./harness";

const COMPONENT = "app.kubernetes.io/component";
const kebab = (s: ServiceName) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const checksum = (w: K8sObject) => templateOf(w).metadata.annotations?.[CONFIG_CHECKSUM_ANNOTATION];
const containerOf = (w: K8sObject) =>
  templateOf(w).spec.containers[0] as { args: string[]; env: { name: string; value?: string; valueFrom?: unknown }[]; ports: { name: string }[] };
const promYml = (run: K8sRun) =>
  parse((named(run, "ConfigMap", "gpu-monitoring-prometheus-etc-prometheus")["data"] as Record<string, string>)["etc_prometheus_prometheus.yml"]!) as unknown;

describe("config roll-outs", () => {
  let base: K8sRun;
  let again: K8sRun;
  let changed: K8sRun;
  beforeAll(async () => {
    base = await runK8sStack();
    again = await runK8sStack();
    changed = await runK8sStack({ plain: { scrapeIntervals: { dcgmExporter: "10s", exporter: "30s", nodeExporter: "30s" } } });
  });

  it("the same config gives the same roll-out keys", () => {
    for (const w of workloads(base)) expect(checksum(named(again, w.kind, w.metadata.name)), w.metadata.name).toBe(checksum(w));
  });

  it("a changed prometheus.yml changes Prometheus' ConfigMap and roll-out key, and no other workload's", () => {
    const before = named(base, "ConfigMap", "gpu-monitoring-prometheus-etc-prometheus");
    const after = named(changed, "ConfigMap", "gpu-monitoring-prometheus-etc-prometheus");
    expect(after["data"]).not.toEqual(before["data"]);
    const prom = "gpu-monitoring-prometheus";
    expect(checksum(named(changed, "StatefulSet", prom))).not.toBe(checksum(named(base, "StatefulSet", prom)));
    for (const w of workloads(base)) {
      if (w.metadata.name === prom) continue;
      expect(checksum(named(changed, w.kind, w.metadata.name)), w.metadata.name).toBe(checksum(w));
    }
  });
});

describe("disabling a component removes all of its objects", () => {
  let full: K8sRun;
  const without = new Map<ServiceName, K8sRun>();
  beforeAll(async () => {
    full = await runK8sStack();
    const { plain } = k8sStackConfig();
    for (const s of SERVICE_NAMES) {
      without.set(s, await runK8sStack({ plain: { components: { ...(plain["components"] as object), [s]: false } } }));
    }
  }, 300_000);

  for (const s of SERVICE_NAMES) {
    it(s, () => {
      const run = without.get(s)!;
      const own = full.objects.filter((o) => o.metadata.labels?.[COMPONENT] === kebab(s));
      expect(own.length, `${s} has objects in the full stack`).toBeGreaterThan(1);
      const remaining = new Set(run.objects.map(key));
      for (const o of own) expect(remaining.has(key(o)), key(o)).toBe(false);
      expect(run.objects.filter((o) => o.metadata.labels?.[COMPONENT] === kebab(s))).toEqual([]);
      // Every other component keeps every object.
      const others = full.objects.filter((o) => o.metadata.labels?.[COMPONENT] !== kebab(s)).map(key);
      expect([...remaining].sort()).toEqual(others.sort());
    });
  }

  it("Prometheus' RBAC goes with it, and kube-state-metrics' with it", () => {
    const run = without.get("prometheus")!;
    expect([...ofKind(run, "ServiceAccount"), ...ofKind(run, "Role"), ...ofKind(run, "RoleBinding")].map((o) => o.metadata.name)).toEqual([
      "gpu-monitoring-kube-state-metrics",
    ]);
    const noKsm = without.get("kubeStateMetrics")!;
    expect([...ofKind(noKsm, "ClusterRole"), ...ofKind(noKsm, "ClusterRoleBinding")]).toEqual([]);
    expect(ofKind(noKsm, "ServiceAccount").map((o) => o.metadata.name)).toEqual(["gpu-monitoring-prometheus"]);
  });
});

describe("scale-out", () => {
  let single: K8sRun;
  let maximal: K8sRun;
  beforeAll(async () => {
    single = await runK8sStack({ kubernetes: { prometheus: { replicas: 1 }, alertmanager: { replicas: 1 } } });
    maximal = await runK8sStack(MAXIMAL);
  });

  it("HA Prometheus: two replicas, each labelled with its own pod name, alerts deduplicated, a disruption budget", () => {
    const sts = named(maximal, "StatefulSet", "gpu-monitoring-prometheus");
    expect((sts["spec"] as { replicas: number }).replicas).toBe(2);
    const doc = promYml(maximal) as { global: { external_labels: Record<string, string> }; alerting: { alert_relabel_configs: unknown[] } };
    expect(doc.global.external_labels["replica"]).toBe("${POD_NAME}");
    expect(containerOf(sts).env).toContainEqual({ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } });
    expect(doc.alerting.alert_relabel_configs).toEqual([{ action: "labeldrop", regex: "replica" }]);
    expect(named(maximal, "PodDisruptionBudget", "gpu-monitoring-prometheus")["spec"]).toMatchObject({ maxUnavailable: 1 });
    // One replica: no replica label and no budget.
    const one = promYml(single) as { global: { external_labels: Record<string, string> }; alerting: Record<string, unknown> };
    expect(one.global.external_labels["replica"]).toBeUndefined();
    expect(one.alerting["alert_relabel_configs"]).toBeUndefined();
    expect(ofKind(single, "PodDisruptionBudget")).toEqual([]);
  });

  it("Alertmanager replicas form a cluster through the headless Service", () => {
    const sts = named(maximal, "StatefulSet", "gpu-monitoring-alertmanager");
    const args = containerOf(sts).args;
    expect(args.filter((a) => a.startsWith("--cluster.peer="))).toEqual(
      [0, 1, 2].map((i) => `--cluster.peer=gpu-monitoring-alertmanager-${i}.gpu-monitoring-alertmanager-headless.monitoring.svc:9094`),
    );
    expect(args).toContain("--cluster.listen-address=0.0.0.0:9094");
    expect(args).toContain("--cluster.advertise-address=$(POD_IP):9094");
    expect(containerOf(sts).ports.map((p) => p.name)).toEqual(["http", "mesh-tcp", "mesh-udp"]);
    const headless = named(maximal, "Service", "gpu-monitoring-alertmanager-headless")["spec"] as { clusterIP: string; publishNotReadyAddresses: boolean; ports: { name: string; protocol: string }[] };
    expect(headless.clusterIP).toBe("None");
    expect(headless.publishNotReadyAddresses).toBe(true);
    expect(headless.ports.map((p) => `${p.name}/${p.protocol}`)).toEqual(["http/TCP", "mesh-tcp/TCP", "mesh-udp/UDP"]);
    expect((sts["spec"] as { serviceName: string }).serviceName).toBe("gpu-monitoring-alertmanager-headless");
    // One replica: gossip off, no peers.
    const one = containerOf(named(single, "StatefulSet", "gpu-monitoring-alertmanager")).args;
    expect(one.filter((a) => a.startsWith("--cluster."))).toEqual(["--cluster.listen-address="]);
  });

  it("Prometheus sends alerts to every Alertmanager pod, found by discovery", () => {
    const doc = promYml(maximal) as { alerting: { alertmanagers: { kubernetes_sd_configs: { role: string; selectors: { label: string }[] }[]; static_configs?: unknown }[] } };
    const [am] = doc.alerting.alertmanagers;
    expect(am!.static_configs).toBeUndefined();
    expect(am!.kubernetes_sd_configs[0]!.role).toBe("pod");
    expect(am!.kubernetes_sd_configs[0]!.selectors[0]!.label).toContain("app.kubernetes.io/component=alertmanager");
  });

  it("remote_write reads its credentials from files out of the Prometheus Secret", () => {
    const doc = promYml(maximal) as { remote_write: unknown[] };
    expect(doc.remote_write).toEqual([
      { url: "https://mimir.example.org/api/v1/push", basic_auth: { username: "gpu-cluster", password_file: "/etc/prometheus/secrets/remoteWritePassword" } },
      { url: "https://thanos.example.org/api/v1/receive", authorization: { type: "Bearer", credentials_file: "/etc/prometheus/secrets/thanosToken" } },
    ]);
    const secret = named(maximal, "Secret", "gpu-monitoring-prometheus-secrets");
    expect(secret["stringData"]).toEqual({ remoteWritePassword: "rw-password", thanosToken: "rw-token" });
    const sts = named(maximal, "StatefulSet", "gpu-monitoring-prometheus");
    const mounts = (templateOf(sts).spec.containers[0] as { volumeMounts: { mountPath: string; subPath?: string; readOnly?: boolean }[] }).volumeMounts;
    expect(mounts).toContainEqual(expect.objectContaining({ mountPath: "/etc/prometheus/secrets/remoteWritePassword", subPath: "remoteWritePassword", readOnly: true }));
    expect(mounts).toContainEqual(expect.objectContaining({ mountPath: "/etc/prometheus/secrets/thanosToken", subPath: "thanosToken", readOnly: true }));
    expect(ofKind(single, "Secret").map((s) => s.metadata.name)).not.toContain("gpu-monitoring-prometheus-secrets");
  });

  it("a remote_write credential that is not set stops the program, naming the key", () => {
    const raw = readStackFile(K8S_STACK);
    const plain = { ...raw.plain, kubernetes: { ...(raw.plain["kubernetes"] as object), prometheus: { remoteWrite: [{ url: "https://mimir.example.org/api/v1/push", bearerTokenSecretKey: "mimirToken" }] } } };
    // The loader rejects it before any spec or resource exists...
    let err: unknown;
    try {
      validateStackConfig({ plain, secretKeys: raw.secretKeys });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain("kubernetes.prometheus.remoteWrite.0.bearerTokenSecretKey");
    expect((err as ConfigError).message).toContain("names a secret that is not set in this stack");
    // ...and with the secret set, the same config is accepted.
    expect(() => kubernetesServiceSpecs(validateStackConfig({ plain, secretKeys: [...raw.secretKeys, "mimirToken"] }))).not.toThrow();
  });
});

describe("providers", () => {
  it("renders to a directory through one provider that every object uses, and otherwise uses the context", async () => {
    const rendered = await runK8sStack({ kubernetes: { renderYamlToDirectory: "rendered/k8s" } });
    const providers = rendered.resources.filter((r) => r.type === "pulumi:providers:kubernetes");
    expect(providers).toHaveLength(1);
    expect(providers[0]!.inputs).toMatchObject({ renderYamlToDirectory: "rendered/k8s", enableConfigMapMutable: "true", enableSecretMutable: "true" });
    const objects = rendered.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
    expect(objects.length).toBeGreaterThan(30);
    for (const o of objects) expect(o.provider, o.name).toMatch(new RegExp(`[$:]pulumi:providers:kubernetes::${providers[0]!.name}::`));

    const withContext = await runK8sStack({ kubernetes: { context: "gpu-cluster-admin" } });
    const [p] = withContext.resources.filter((r) => r.type === "pulumi:providers:kubernetes");
    expect(p!.inputs["context"]).toBe("gpu-cluster-admin");
    expect(p!.inputs["renderYamlToDirectory"]).toBeUndefined();
  });
});
