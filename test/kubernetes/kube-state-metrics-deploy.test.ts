import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { kubernetesBundle } from "../../components/platforms/kubernetes";
import { ruleFilesFor } from "../../components/render/sources";
import { readStackFile, validateStackConfig } from "../../components/config";
import { KUBE_STATE_METRICS_IMAGE, kubeStateMetricsRules } from "../../components/services/kubeStateMetrics";
import { KUBE_STATE_METRICS_JOB, kubeResourceOf } from "../../metrics";
import { BASE, errorOf, validate } from "../config/support";
import { K8S_STACK, named, ofKind, runK8sStack, templateOf, type K8sObject, type K8sRun } from "./harness";

/**
 * kube-state-metrics as the k8s stack deploys it (the Pulumi program under mocks): the least
 * RBAC its allowlist needs, its probes, limits and NetworkPolicies, its scrape job, and its
 * absence from Docker stacks.
 */

const NAME = "gpu-monitoring-kube-state-metrics";
const CLUSTER_NAME = `monitoring-${NAME}`;

interface Container {
  image: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
  startupProbe: { httpGet: { path: string; port: number } };
  livenessProbe: { httpGet: { path: string; port: number } };
  readinessProbe: { httpGet: { path: string; port: number } };
}

const containerOf = (w: K8sObject) => templateOf(w).spec.containers[0] as unknown as Container;
const argValue = (c: Container, flag: string) => c.args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);

describe("kube-state-metrics on the k8s stack", () => {
  let run: K8sRun;
  beforeAll(async () => {
    run = await runK8sStack();
  });

  it("runs the pinned official image as one non-root replica with limits and upstream's three probes", () => {
    const d = named(run, "Deployment", NAME);
    expect((d["spec"] as { replicas: number }).replicas).toBe(1);
    const c = containerOf(d);
    expect(c.image).toBe(KUBE_STATE_METRICS_IMAGE);
    expect(c.image).toMatch(/^registry\.k8s\.io\/kube-state-metrics\/kube-state-metrics:v\d+\.\d+\.\d+$/);
    expect(c.ports.map((p) => `${p.name}:${p.containerPort}`)).toEqual(["http-metrics:8080", "telemetry:8081"]);
    expect(c.startupProbe.httpGet).toEqual({ path: "/healthz", port: 8080 });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/livez", port: 8080 });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: 8081 });
    expect(c.resources.limits).toEqual({ cpu: "500m", memory: "512Mi" });
    expect(c.securityContext).toMatchObject({ runAsUser: 65534, runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(templateOf(d).spec.serviceAccountName).toBe(NAME);
  });

  it("is granted list and watch on exactly the resources its allowlisted metrics come from, cluster-wide, and nothing else", () => {
    const c = containerOf(named(run, "Deployment", NAME));
    const allowlist = (argValue(c, "--metric-allowlist") ?? "").split(",");
    expect(allowlist.every((a) => /^\^kube_[a-z_]+\$$/.test(a))).toBe(true);
    const needed = [...new Set(allowlist.map((a) => kubeResourceOf(a.slice(1, -1))))].sort();
    expect(argValue(c, "--resources")?.split(",")).toEqual(needed);
    const role = named(run, "ClusterRole", CLUSTER_NAME);
    expect(role["rules"]).toEqual([{ apiGroups: [""], resources: needed, verbs: ["list", "watch"] }]);
    expect(role["rules"]).toEqual(kubeStateMetricsRules());
    const binding = named(run, "ClusterRoleBinding", CLUSTER_NAME);
    expect(binding["roleRef"]).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: CLUSTER_NAME });
    expect(binding["subjects"]).toEqual([{ kind: "ServiceAccount", name: NAME, namespace: "monitoring" }]);
    // No namespaced access on top.
    expect(ofKind(run, "Role").map((r) => r.metadata.name)).not.toContain(NAME);
  });

  it("accepts connections from Prometheus only, and reaches only the API server beyond DNS and the namespace", () => {
    const ingress = named(run, "NetworkPolicy", "kube-state-metrics-ingress")["spec"] as {
      ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[];
    };
    expect(ingress.ingress.map((r) => r.from.map((f) => f.podSelector.matchLabels["app.kubernetes.io/component"]))).toEqual([["prometheus"]]);
    expect(ingress.ingress[0]!.ports.map((p) => p.port)).toEqual([8080, 8081]);
    const egress = named(run, "NetworkPolicy", "kube-state-metrics-egress")["spec"] as { egress: { ports: { port: number }[] }[] };
    expect(egress.egress.flatMap((r) => r.ports.map((p) => p.port)).sort((a, b) => a - b)).toEqual([443, 6443]);
  });

  it("is scraped by its own job that keeps the workloads' namespace, pod, container and node", () => {
    const bundle = kubernetesBundle(validateStackConfig(readStackFile(K8S_STACK)));
    const doc = parse(bundle.find((f) => f.path === "prometheus/prometheus.yml")!.content) as { scrape_configs: Record<string, unknown>[] };
    const job = doc.scrape_configs.find((c) => c["job_name"] === KUBE_STATE_METRICS_JOB)!;
    expect(job["honor_labels"]).toBe(true);
    const written = (job["relabel_configs"] as { target_label?: string }[]).map((r) => r.target_label).filter(Boolean);
    for (const label of ["namespace", "pod", "container", "node"]) expect(written, label).not.toContain(label);
    expect(written).toContain("instance");
    expect((job["metric_relabel_configs"] as unknown[]).length).toBeGreaterThan(0);
    // Its alerts come with it.
    expect(bundle.map((f) => f.path)).toContain("prometheus/rules/kubernetes.alerts.yml");
  });

  it("switched off, takes its scrape job and its alerts along", () => {
    const off = validateStackConfig({ ...readStackFile(K8S_STACK), plain: { ...readStackFile(K8S_STACK).plain, components: { ...(readStackFile(K8S_STACK).plain["components"] as object), kubeStateMetrics: false } } });
    const paths = kubernetesBundle(off).map((f) => f.path);
    expect(paths).not.toContain("prometheus/rules/kubernetes.alerts.yml");
    const doc = parse(kubernetesBundle(off).find((f) => f.path === "prometheus/prometheus.yml")!.content) as { scrape_configs: { job_name: string }[] };
    expect(doc.scrape_configs.map((c) => c.job_name)).not.toContain(KUBE_STATE_METRICS_JOB);
  });
});

describe("kube-state-metrics on Docker", () => {
  it("is off by default, and switching it on names the key", () => {
    expect(validate(BASE).components.kubeStateMetrics).toBe(false);
    const err = errorOf({ ...BASE, components: { kubeStateMetrics: true } });
    expect(err.problems.map((p) => p.key)).toEqual(["components.kubeStateMetrics"]);
    expect(err.message).toMatch(/kubernetes/);
  });

  it("renders neither the Kubernetes alerts nor their recording rules, which would record nothing there", () => {
    const files = ruleFilesFor(validate(BASE));
    expect(files.map((f) => f.fileName)).not.toContain("kubernetes.alerts.yml");
    expect(files.find((f) => f.fileName === "recording.rules.yml")?.content).not.toContain("k8s:");
    const cluster = ruleFilesFor(validateStackConfig(readStackFile(K8S_STACK)));
    expect(cluster.find((f) => f.fileName === "recording.rules.yml")?.content).toContain("record: k8s:pod_gpu_requests");
  });
});
