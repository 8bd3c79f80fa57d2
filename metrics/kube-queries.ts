import { GPU_RESOURCE_PATTERN, MIG_RESOURCE_PATTERN, kubeStateMetrics as ksm } from "./kubeStateMetrics";
import { agg, re, sel } from "./promql";

/**
 * PromQL over kube-state-metrics' pod and node series that the Kubernetes alerts and the
 * k8s-gpu-workloads dashboard share, so "a pending GPU pod" means the same in both.
 */

export const GPU_RESOURCES = { resource: re(GPU_RESOURCE_PATTERN) } as const;
export const MIG_RESOURCES = { resource: re(MIG_RESOURCE_PATTERN) } as const;

/** A pod is named by its namespace and name; `uid` tells apart pods that reuse a name. */
export const POD_KEY = ["namespace", "pod"] as const;
export const ON_POD = `on(${POD_KEY.join(", ")})`;

/** 1 for each pod in one of `phases` (a regex such as "Pending|Running"). */
export function podInPhase(phases: string): string {
  return `(${agg("max", sel(ksm.kube_pod_status_phase, { phase: re(phases) }), POD_KEY)} == 1)`;
}

/** Seconds since each pod was created. */
export function podAgeSeconds(): string {
  return `(time() - ${agg("max", sel(ksm.kube_pod_created), POD_KEY)})`;
}

/** Devices (GPUs and MIG slices) each pod's containers request, whatever its phase. */
export function podGpuRequests(): string {
  return agg("sum", sel(ksm.kube_pod_container_resource_requests, GPU_RESOURCES), POD_KEY);
}

/** 1 for each Pending pod that requests GPUs or MIG slices (unscheduled, or scheduled and not started). */
export function pendingGpuPods(): string {
  return `(${podInPhase("Pending")} and ${ON_POD} (${podGpuRequests()} > 0))`;
}

/** The nodes that have GPU or MIG capacity: each node's largest GPU resource, above 0. */
export function gpuNodes(): string {
  return `(${agg("max", sel(ksm.kube_node_status_capacity, GPU_RESOURCES), ["node"])} > 0)`;
}
