import { GPU_RESOURCE_PATTERN, KUBE_STATE_METRICS_JOB, kubeResourceOf, kubeStateMetrics as catalogEntries, type KubeResource } from "../../metrics";
import type { StackConfig } from "../config/resolve";
import type { RelabelConfig } from "../render/prometheus";
import type { ServiceSpec } from "../spec";
import { NOBODY, baseSpec, mainPort, resources } from "./common";
import type { ApiRule, ServiceDescriptor } from "./descriptor";

/**
 * kube-state-metrics as this stack runs it: the official image, only the pod and node metrics the
 * catalog declares (kube-state-metrics watches only the API resources they come from, and reads
 * nothing else), and a scrape that stores only GPU-related resource series. Everything here is
 * derived from the catalog module metrics/kubeStateMetrics.ts, so a metric added there is exposed,
 * watched and granted without another edit.
 */

/** The official image (registry.k8s.io), v2.20.0: the release whose pod.go and node.go the catalog follows. */
export const KUBE_STATE_METRICS_IMAGE = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0";

/** The metrics port (`--port`, /metrics, /healthz, /livez) and the self-metrics port (`--telemetry-port`, /readyz). */
export const KUBE_STATE_METRICS_PORTS = { metrics: 8080, telemetry: 8081 } as const;

/** The catalog's kube-state-metrics metric names, sorted. */
export function kubeStateMetricsNames(): string[] {
  return Object.keys(catalogEntries).sort();
}

/**
 * `--metric-allowlist`: kube-state-metrics reads each entry as an unanchored regular expression,
 * so every name is anchored (`kube_pod_status_ready` alone would also let `kube_pod_status_ready_time` through).
 */
export function kubeStateMetricsAllowlist(): string[] {
  return kubeStateMetricsNames().map((n) => `^${n}$`);
}

/** `--resources`: the API resources the allowed metrics are built from, and so all it lists and watches. */
export function kubeStateMetricsResources(): KubeResource[] {
  return [...new Set(kubeStateMetricsNames().map(kubeResourceOf))].sort();
}

export function kubeStateMetricsArgs(): string[] {
  return [
    `--port=${KUBE_STATE_METRICS_PORTS.metrics}`,
    `--telemetry-port=${KUBE_STATE_METRICS_PORTS.telemetry}`,
    `--resources=${kubeStateMetricsResources().join(",")}`,
    `--metric-allowlist=${kubeStateMetricsAllowlist().join(",")}`,
  ];
}

/**
 * The ClusterRole's rules: list and watch on exactly the resources kube-state-metrics is told to
 * collect (pods and nodes, the only KubeResource values, are core-group resources; nodes are cluster-scoped, so the role is a
 * ClusterRole). No get, no secrets, no tokenreviews: the scrape is not proxied through an auth filter.
 */
export function kubeStateMetricsRules(): ApiRule[] {
  return [{ apiGroups: [""], resources: kubeStateMetricsResources(), verbs: ["list", "watch"] }];
}

/** A label only metric relabelling sets, to mark a series for dropping; never stored. */
const DROP_MARK = "__tmp_gpu_monitoring_drop";

/**
 * Drops the series of `metrics` (a regex over the metric name) whose `label` does not match
 * `values`. Prometheus' RE2 has no negative lookahead, so a series is marked, the mark is removed
 * where the label matches, and what is still marked is dropped.
 */
export function keepOnlyWhere(metrics: string, label: string, values: string): RelabelConfig[] {
  return [
    { source_labels: ["__name__"], regex: metrics, target_label: DROP_MARK, replacement: "1", action: "replace" },
    { source_labels: ["__name__", label], regex: `(?:${metrics});(?:${values})`, target_label: DROP_MARK, replacement: "", action: "replace" },
    { source_labels: [DROP_MARK], regex: "1", action: "drop" },
  ];
}

/**
 * What the scrape stores of kube-state-metrics' output: resource series only for NVIDIA's
 * resources (every pod's CPU and memory requests would otherwise dominate), pod phases only
 * Pending and Running (a pod is in one; the rules read no other), node conditions only Ready.
 */
export const KUBE_STATE_METRICS_METRIC_RELABELS: readonly RelabelConfig[] = [
  ...keepOnlyWhere("kube_pod_container_resource_(?:requests|limits)|kube_node_status_(?:allocatable|capacity)", "resource", GPU_RESOURCE_PATTERN),
  ...keepOnlyWhere("kube_pod_status_phase", "phase", "Pending|Running"),
  ...keepOnlyWhere("kube_node_status_condition", "condition", "Ready"),
];

/**
 * The pod: both ports, nobody, read-only root, no capabilities; one replica holds the whole
 * cluster's pods and nodes. Probes as upstream recommends for this release: startup on /healthz
 * (serving), liveness on /livez (fails while the API server cannot be reached), readiness on the
 * telemetry port's /readyz (metrics ready to serve).
 */
export function kubeStateMetricsService(cfg: StackConfig): ServiceSpec {
  const main = mainPort(cfg, "kubeStateMetrics");
  const { metrics, telemetry } = KUBE_STATE_METRICS_PORTS;
  return {
    ...baseSpec(cfg, "kubeStateMetrics"),
    args: kubeStateMetricsArgs(),
    ports: [main, { name: "telemetry", containerPort: telemetry, hostPort: telemetry }],
    user: NOBODY,
    healthCheck: { kind: "http", path: "/healthz", port: metrics },
    livenessCheck: { kind: "http", path: "/livez", port: metrics },
    readinessCheck: { kind: "http", path: "/readyz", port: telemetry },
    resources: resources("50m", "64Mi", "500m", "512Mi"),
    placement: "cluster",
  };
}

export const kubeStateMetrics: ServiceDescriptor = {
  name: "kubeStateMetrics",
  componentType: "KubeStateMetrics",
  summary: "kube-state-metrics: pods' GPU and MIG requests, phases and pending reasons, nodes' allocatable GPUs and readiness",
  image: KUBE_STATE_METRICS_IMAGE,
  port: { name: "http-metrics", number: KUBE_STATE_METRICS_PORTS.metrics },
  enabledByDefault: { dev: true, prod: true },
  platforms: ["kubernetes"],
  scrape: {
    job: KUBE_STATE_METRICS_JOB,
    interval: "30s",
    metricRelabels: KUBE_STATE_METRICS_METRIC_RELABELS,
    // Its series name other pods and their nodes: those labels are data, never the scraped pod's.
    kubernetes: { honorLabels: true, dataLabelsOf: ["kube-state-metrics"] },
  },
  probe: { path: "/healthz", kind: "healthy" },
  build: kubeStateMetricsService,
  kubernetes: {
    workload: "Deployment",
    apiAccess: () => ({ cluster: kubeStateMetricsRules() }),
    egress: { apiServer: true },
  },
};
