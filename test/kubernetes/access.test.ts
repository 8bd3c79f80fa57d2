import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { discoveryRules, sdRolesUsed, discoveryConfigsOf } from "../../components/platforms/kubernetes";
import { MAXIMAL } from "./fixtures";
import { named, ofKind, runK8sStack, templateOf, workloads, type K8sObject, type K8sRun } from "./harness";

const COMPONENT = "app.kubernetes.io/component";

function prometheusYml(run: K8sRun): string {
  const cm = named(run, "ConfigMap", "gpu-monitoring-prometheus-etc-prometheus");
  return (cm["data"] as Record<string, string>)["etc_prometheus_prometheus.yml"]!;
}

interface Rule {
  from?: { podSelector: { matchLabels: Record<string, string> } }[];
  ports?: { protocol: string; port: number }[];
}
function ingressOf(run: K8sRun, component: string): Rule[] {
  const np = named(run, "NetworkPolicy", `${component}-ingress`);
  const spec = np["spec"] as { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: Rule[] };
  expect(spec.podSelector.matchLabels[COMPONENT]).toBe(component);
  expect(spec.policyTypes).toEqual(["Ingress"]);
  return spec.ingress;
}
const sources = (r: Rule): string[] => (r.from ?? []).map((f) => f.podSelector.matchLabels[COMPONENT]!).sort();
const ports = (r: Rule): string[] => (r.ports ?? []).map((p) => `${p.port}/${p.protocol}`).sort();

describe("RBAC", () => {
  let run: K8sRun;
  beforeAll(async () => {
    run = await runK8sStack();
  });

  it("is exactly read access to pods in the stack's namespace for Prometheus, and list/watch on what kube-state-metrics collects", () => {
    // kube-state-metrics' own, derived from its --resources (test/kubernetes/kube-state-metrics-deploy.test.ts).
    expect(ofKind(run, "ClusterRole").map((r) => r.metadata.name)).toEqual(["monitoring-gpu-monitoring-kube-state-metrics"]);
    expect(ofKind(run, "ClusterRoleBinding").map((r) => r.metadata.name)).toEqual(["monitoring-gpu-monitoring-kube-state-metrics"]);
    const roles = ofKind(run, "Role");
    expect(roles.map((r) => [r.metadata.name, r.metadata.namespace])).toEqual([["gpu-monitoring-prometheus", "monitoring"]]);
    expect(roles[0]!["rules"]).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }]);
    const bindings = ofKind(run, "RoleBinding");
    expect(bindings).toHaveLength(1);
    expect(bindings[0]!["roleRef"]).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "gpu-monitoring-prometheus" });
    expect(bindings[0]!["subjects"]).toEqual([{ kind: "ServiceAccount", name: "gpu-monitoring-prometheus", namespace: "monitoring" }]);
    expect(ofKind(run, "ServiceAccount").map((s) => s.metadata.name)).toEqual(["gpu-monitoring-prometheus", "gpu-monitoring-kube-state-metrics"]);
  });

  it("matches what the rendered discovery config watches, and only the stack's namespace", () => {
    const yml = prometheusYml(run);
    const configs = discoveryConfigsOf(yml);
    expect([...sdRolesUsed(configs)]).toEqual(["pod"]);
    expect(named(run, "Role", "gpu-monitoring-prometheus")["rules"]).toEqual(discoveryRules(sdRolesUsed(configs)));
    const doc = parse(yml) as { scrape_configs: { kubernetes_sd_configs?: { namespaces: { names: string[] } }[] }[] };
    for (const job of doc.scrape_configs) for (const sd of job.kubernetes_sd_configs ?? []) expect(sd.namespaces.names).toEqual(["monitoring"]);
  });

  it("derives the least rules per discovery role, never kubelet or secret access", () => {
    expect(discoveryRules(["endpoints"])).toEqual([{ apiGroups: [""], resources: ["endpoints", "pods", "services"], verbs: ["get", "list", "watch"] }]);
    expect(discoveryRules(["endpointslice", "node"])).toEqual([
      { apiGroups: [""], resources: ["nodes", "pods", "services"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
    ]);
    const all = discoveryRules(["pod", "service", "endpoints", "endpointslice", "node", "ingress"]);
    const resources = all.flatMap((r) => r.resources);
    for (const forbidden of ["nodes/metrics", "nodes/proxy", "secrets", "configmaps"]) expect(resources).not.toContain(forbidden);
    for (const r of all) expect(r.verbs).toEqual(["get", "list", "watch"]);
    expect(discoveryRules([])).toEqual([]);
  });
});

describe("NetworkPolicies", () => {
  let run: K8sRun;
  let maximal: K8sRun;
  let off: K8sRun;
  beforeAll(async () => {
    run = await runK8sStack();
    maximal = await runK8sStack(MAXIMAL);
    off = await runK8sStack({ kubernetes: { networkPolicies: false } });
  });

  it("let only Prometheus reach the exporters, on their metrics port", () => {
    const metricsPort: Record<string, string> = { "node-exporter": "9100/TCP", "dcgm-exporter": "9400/TCP", cadvisor: "8080/TCP", exporter: "9101/TCP" };
    for (const [component, port] of Object.entries(metricsPort)) {
      const rules = ingressOf(run, component);
      expect(rules.map(sources), component).toEqual([["prometheus"]]);
      expect(rules.map(ports), component).toEqual([[port]]);
    }
  });

  it("let only Grafana and Prometheus reach what they query", () => {
    expect(ingressOf(run, "prometheus").map(sources)).toEqual([["grafana", "prometheus"]]);
    // The k8s stack runs two Alertmanagers: the second rule is their gossip (next test).
    expect(ingressOf(run, "alertmanager").map(sources)).toEqual([["grafana", "prometheus"], ["alertmanager"]]);
    expect(ingressOf(run, "alertmanager").map(ports)).toEqual([["9093/TCP"], ["9094/TCP", "9094/UDP"]]);
    // Grafana is reached by Prometheus' scrape only, unless its Ingress is on.
    expect(ingressOf(run, "grafana").map(sources)).toEqual([["prometheus"]]);
    expect(ingressOf(maximal, "grafana")).toEqual([{ ports: [{ protocol: "TCP", port: 3000 }] }]);
  });

  it("let Alertmanager replicas gossip with each other when clustered", () => {
    const rules = ingressOf(maximal, "alertmanager");
    expect(rules.map(sources)).toEqual([["grafana", "prometheus"], ["alertmanager"]]);
    expect(rules[1]!.ports).toEqual([
      { protocol: "TCP", port: 9094 },
      { protocol: "UDP", port: 9094 },
    ]);
  });

  it("select every pod of the stack", () => {
    // An empty selector (the namespace's default-deny) selects every pod.
    const policySelectors = ofKind(run, "NetworkPolicy").map((p) => (p["spec"] as { podSelector: { matchLabels?: Record<string, string> } }).podSelector.matchLabels ?? {});
    for (const w of workloads(run)) {
      const labels = templateOf(w).metadata.labels;
      expect(policySelectors.some((sel) => Object.entries(sel).every(([k, v]) => labels[k] === v)), w.metadata.name).toBe(true);
    }
  });

  it("can be turned off", () => {
    expect(ofKind(off, "NetworkPolicy")).toEqual([]);
    expect(workloads(off)).toHaveLength(workloads(run).length);
  });
});

describe("exposure", () => {
  let run: K8sRun;
  let maximal: K8sRun;
  beforeAll(async () => {
    run = await runK8sStack();
    maximal = await runK8sStack(MAXIMAL);
  });

  it("exposes nothing outside the cluster by default: ClusterIP Services, no Ingress", () => {
    expect(ofKind(run, "Ingress")).toEqual([]);
    for (const svc of ofKind(run, "Service")) {
      const spec = svc["spec"] as { type?: string; clusterIP?: string };
      expect(spec.type === "ClusterIP" || spec.clusterIP === "None", svc.metadata.name).toBe(true);
    }
    expect(run.outputs["grafanaUrl"]).toBe("http://gpu-monitoring-grafana.monitoring.svc:3000");
  });

  it("an opt-in Ingress routes the host to Grafana's Service, with TLS and the root URL set", () => {
    const [ing] = ofKind(maximal, "Ingress") as [K8sObject];
    expect(ing.metadata.annotations).toEqual({ "cert-manager.io/cluster-issuer": "letsencrypt" });
    expect(ing["spec"]).toEqual({
      ingressClassName: "nginx",
      tls: [{ hosts: ["grafana.example.org"], secretName: "grafana-tls" }],
      rules: [
        {
          host: "grafana.example.org",
          http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "gpu-monitoring-grafana", port: { name: "http" } } } }] },
        },
      ],
    });
    const env = (templateOf(named(maximal, "Deployment", "gpu-monitoring-grafana")).spec.containers[0] as { env: { name: string; value?: string }[] }).env;
    expect(env).toContainEqual({ name: "GF_SERVER_ROOT_URL", value: "https://grafana.example.org/" });
    expect(maximal.outputs["grafanaUrl"]).toBe("https://grafana.example.org/");
    for (const [k, secret] of Object.entries(maximal.outputIsSecret)) expect(secret, k).toBe(false);
  });
});
