import type { ServiceName } from "../../spec";
import type { RelabelConfig } from "../../render/prometheus";
import { COMPONENT_LABEL, PART_OF, PART_OF_LABEL, componentName } from "./labels";

/**
 * Prometheus service discovery on Kubernetes, as data in prometheus.yml's own shape (snake_case
 * keys) so the renderer can emit it unchanged. Every job discovers pods in the stack's namespace
 * only, which is what lets Prometheus run with a namespaced Role instead of a ClusterRole.
 */

export type KubernetesSdRole = "pod" | "endpoints" | "endpointslice" | "service" | "node" | "ingress";

export interface KubernetesSdConfig {
  readonly role: KubernetesSdRole;
  readonly namespaces: { readonly names: readonly string[] };
  readonly selectors?: readonly { readonly role: KubernetesSdRole; readonly label?: string; readonly field?: string }[];
}

export type { RelabelConfig };

export interface KubernetesScrapeJob {
  readonly job_name: string;
  readonly scrape_interval?: string;
  readonly scrape_timeout?: string;
  readonly metrics_path?: string;
  readonly honor_labels?: boolean;
  readonly kubernetes_sd_configs: readonly KubernetesSdConfig[];
  readonly relabel_configs: readonly RelabelConfig[];
  readonly metric_relabel_configs?: readonly RelabelConfig[];
}

/** What to discover for one job: the service's pods and the named container port to scrape. */
export interface DiscoveredJob {
  readonly jobName: string;
  readonly service: ServiceName;
  readonly portName: string;
  readonly interval?: string;
  readonly timeout?: string;
  readonly metricsPath?: string;
  /**
   * Keep labels the target sets itself when they clash with target labels. DCGM exporter sets
   * pod/namespace/container of the pod that holds the GPU (kubelet pod-resources); those must
   * win over the exporter pod's own names.
   */
  readonly honorLabels?: boolean;
  /** One pod per node: `instance` becomes the node name, stable across pod restarts. */
  readonly perNode: boolean;
  /**
   * Pod target labels (POD_TARGET_LABELS) the target's own series carry as data: DCGM's
   * pod/namespace/container of the workload holding a GPU, DS01's `container`. Discovery leaves
   * these off the target, so a series without one (a GPU no pod uses) is not given the scraped
   * pod's name, and one with it is not renamed to `exported_*` or, with honor_labels, mixed up.
   */
  readonly dataLabels?: readonly string[];
  readonly metricRelabels?: readonly RelabelConfig[];
}

/** `__meta_kubernetes_pod_label_<name>` for a label name, as Prometheus sanitises it. */
export function podLabelMeta(label: string): string {
  return `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

function podSd(namespace: string, service: ServiceName): KubernetesSdConfig {
  return {
    role: "pod",
    namespaces: { names: [namespace] },
    // Filtered by the API server, so Prometheus does not watch unrelated pods.
    selectors: [{ role: "pod", label: `${COMPONENT_LABEL}=${componentName(service)},${PART_OF_LABEL}=${PART_OF}` }],
  };
}

/** Labels discovery attaches to a target to name its pod. */
export const POD_TARGET_LABELS = ["node", "namespace", "pod", "container"] as const;

/** The relabelling that keeps node, namespace, pod and container on every series, where they are not the target's data. */
function podRelabels(job: Pick<DiscoveredJob, "service" | "portName" | "perNode" | "dataLabels">): RelabelConfig[] {
  const data = new Set(job.dataLabels ?? []);
  const rules: RelabelConfig[] = [
    { source_labels: [podLabelMeta(COMPONENT_LABEL)], regex: componentName(job.service), action: "keep" },
    { source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: job.portName, action: "keep" },
    // A pod that finished or has not started has nothing to scrape.
    { source_labels: ["__meta_kubernetes_pod_phase"], regex: "Pending|Succeeded|Failed", action: "drop" },
    { source_labels: ["__meta_kubernetes_pod_node_name"], target_label: "node", action: "replace" },
    { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace", action: "replace" },
    { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod", action: "replace" },
    { source_labels: ["__meta_kubernetes_pod_container_name"], target_label: "container", action: "replace" },
    {
      source_labels: [job.perNode ? "__meta_kubernetes_pod_node_name" : "__meta_kubernetes_pod_name"],
      target_label: "instance",
      action: "replace",
    },
  ];
  return rules.filter((r) => r.target_label === undefined || !data.has(r.target_label));
}

export function kubernetesScrapeJob(namespace: string, job: DiscoveredJob): KubernetesScrapeJob {
  return {
    job_name: job.jobName,
    ...(job.interval ? { scrape_interval: job.interval } : {}),
    ...(job.timeout ? { scrape_timeout: job.timeout } : {}),
    ...(job.metricsPath ? { metrics_path: job.metricsPath } : {}),
    ...(job.honorLabels ? { honor_labels: true } : {}),
    kubernetes_sd_configs: [podSd(namespace, job.service)],
    relabel_configs: podRelabels(job),
    ...(job.metricRelabels?.length ? { metric_relabel_configs: job.metricRelabels } : {}),
  };
}

export interface AlertmanagerDiscovery {
  readonly kubernetes_sd_configs: readonly KubernetesSdConfig[];
  readonly relabel_configs: readonly RelabelConfig[];
}

/**
 * Prometheus must send every alert to every Alertmanager replica (they deduplicate among
 * themselves); a load-balanced Service would reach only one, so replicas are discovered as pods.
 */
export function alertmanagerDiscovery(namespace: string, portName: string): AlertmanagerDiscovery {
  return {
    kubernetes_sd_configs: [podSd(namespace, "alertmanager")],
    relabel_configs: [
      { source_labels: [podLabelMeta(COMPONENT_LABEL)], regex: componentName("alertmanager"), action: "keep" },
      { source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: portName, action: "keep" },
      { source_labels: ["__meta_kubernetes_pod_phase"], regex: "Pending|Succeeded|Failed", action: "drop" },
    ],
  };
}

/** The Kubernetes SD roles a set of discovery configs uses (RBAC is derived from these). */
export function sdRolesUsed(configs: readonly { readonly kubernetes_sd_configs?: readonly KubernetesSdConfig[] }[]): Set<KubernetesSdRole> {
  const roles = new Set<KubernetesSdRole>();
  for (const c of configs) for (const sd of c.kubernetes_sd_configs ?? []) roles.add(sd.role);
  return roles;
}
