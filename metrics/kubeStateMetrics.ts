import { metric, type MetricType } from "./define";

/**
 * kube-state-metrics v2.20.0: what the Kubernetes API says about pods and nodes, as far as GPU
 * scheduling needs it. Names, types and label names are the ones internal/store/pod.go and
 * internal/store/node.go of that release emit:
 * - every pod series starts with `namespace`, `pod`, `uid` (wrapPodFunc); every node series with
 *   `node` (wrapNodeFunc);
 * - a resource name is sanitised to a label value by replacing every character outside
 *   `[a-zA-Z0-9_]` with `_` (SanitizeLabelName): `nvidia.com/gpu` -> `nvidia_com_gpu`,
 *   `nvidia.com/mig-1g.10gb` -> `nvidia_com_mig_1g_10gb`; extended resources have `unit="integer"`;
 * - a request or limit of a pod the scheduler has not placed has an empty `node` (absent in Prometheus).
 * This set is also kube-state-metrics' `--metric-allowlist`: it exposes nothing the stack does not read.
 */

const POD = ["namespace", "pod", "uid"] as const;
const CONTAINER_RESOURCE = [...POD, "container", "node", "resource", "unit"] as const;
const NODE_RESOURCE = ["node", "resource", "unit"] as const;

const ksm = <const N extends string, const L extends string>(name: N, help: string, labels: readonly L[], type: MetricType = "gauge", unit?: string) =>
  metric({ name, type, help, labels, source: "kube-state-metrics", ...(unit ? { unit } : {}) });

export const kubeStateMetrics = {
  kube_pod_container_resource_requests: ksm(
    "kube_pod_container_resource_requests",
    "The number of requested request resource by a container.",
    CONTAINER_RESOURCE,
  ),
  kube_pod_container_resource_limits: ksm(
    "kube_pod_container_resource_limits",
    "The number of requested limit resource by a container.",
    CONTAINER_RESOURCE,
  ),
  kube_pod_status_phase: ksm("kube_pod_status_phase", "The pods current phase.", [...POD, "phase"]),
  kube_pod_status_unschedulable: ksm("kube_pod_status_unschedulable", "Describes the unschedulable status for the pod.", POD),
  kube_pod_status_reason: ksm("kube_pod_status_reason", "The pod status reasons", [...POD, "reason"]),
  kube_pod_container_status_waiting_reason: ksm(
    "kube_pod_container_status_waiting_reason",
    "Describes the reason the container is currently in waiting state.",
    [...POD, "container", "reason"],
  ),
  kube_pod_created: ksm("kube_pod_created", "Unix creation timestamp", POD, "gauge", "dateTimeAsIso"),
  kube_node_status_allocatable: ksm(
    "kube_node_status_allocatable",
    "The allocatable for different resources of a node that are available for scheduling.",
    NODE_RESOURCE,
  ),
  kube_node_status_capacity: ksm("kube_node_status_capacity", "The capacity for different resources of a node.", NODE_RESOURCE),
  kube_node_status_condition: ksm("kube_node_status_condition", "The condition of a cluster node.", ["node", "condition", "status"]),
  kube_node_spec_unschedulable: ksm("kube_node_spec_unschedulable", "Whether a node can schedule new pods.", ["node"]),
  kube_node_info: ksm("kube_node_info", "Information about a cluster node.", [
    "node",
    "kernel_version",
    "os_image",
    "container_runtime_version",
    "kubelet_version",
    "kubeproxy_version",
    "provider_id",
    "pod_cidr",
    "system_uuid",
    "internal_ip",
  ]),
} as const;

/** The scrape job of kube-state-metrics: the rules and the dashboard select its `up` by it. */
export const KUBE_STATE_METRICS_JOB = "kube-state-metrics";

/** The Kubernetes API resource (kube-state-metrics' `--resources` name) each metric is built from. */
export type KubeResource = "pods" | "nodes";
export function kubeResourceOf(metricName: string): KubeResource {
  if (metricName.startsWith("kube_pod_")) return "pods";
  if (metricName.startsWith("kube_node_")) return "nodes";
  throw new Error(`${metricName}: not a kube-state-metrics pod or node metric`);
}

/**
 * NVIDIA's extended resources as kube-state-metrics spells them: whole GPUs `nvidia_com_gpu`,
 * MIG slices `nvidia_com_mig_<profile>` (mixed strategy), renamed shared GPUs `nvidia_com_gpu_shared`.
 */
export const GPU_RESOURCE_PATTERN = "nvidia_com_.+";
export const MIG_RESOURCE_PATTERN = "nvidia_com_mig_.+";
export const FULL_GPU_RESOURCE = "nvidia_com_gpu";
