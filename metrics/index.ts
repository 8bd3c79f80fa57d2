import { cadvisor } from "./cadvisor";
import { dcgm } from "./dcgm";
import type { MetricDef } from "./define";
import { drm } from "./drm";
import { kubeStateMetrics } from "./kubeStateMetrics";
import { ds01, exporterSelf } from "./ds01";
import { node } from "./node";
import { recorded } from "./recorded";
import { slurm } from "./slurm";
import { stack } from "./stack";

export * from "./define";
export * from "./promql";
export { physicalGpuCount } from "./ds01-queries";
export { GPU_RESOURCES, MIG_RESOURCES, ON_POD, POD_KEY, gpuNodes, pendingGpuPods, podAgeSeconds, podGpuRequests, podInPhase } from "./kube-queries";
export { DCGM_INT64_SENTINEL_THRESHOLD, DCGM_LABEL_FIELDS, DCGM_SENTINEL_THRESHOLD } from "./dcgm";
export { dcgmCounters, renderDcgmCounters, type DcgmCounter, type DcgmCounterType } from "./dcgm-counters";
export {
  DCGM_ENTITY_FIELDS,
  DCGM_ENTITY_LABELS,
  DCGM_GPU_FIELDS,
  DCGM_GPU_LABELS,
  DCGM_GPU_RATE_FIELDS,
  DCGM_RATE_WINDOW,
  DCGM_XID_LABELS,
  type MeasuredEntityName,
  type MeasuredGpuName,
} from "./recorded";
export { SLURM_TARGET_LABELS } from "./slurm";
export { FULL_GPU_RESOURCE, GPU_RESOURCE_PATTERN, KUBE_STATE_METRICS_JOB, MIG_RESOURCE_PATTERN, kubeResourceOf, type KubeResource } from "./kubeStateMetrics";
export { cadvisor, dcgm, drm, ds01, exporterSelf, kubeStateMetrics, node, recorded, slurm, stack };

/** Every metric the stack touches, by name. */
export const catalog = {
  ...dcgm,
  ...node,
  ...cadvisor,
  ...stack,
  ...ds01,
  ...exporterSelf,
  ...drm,
  ...slurm,
  ...kubeStateMetrics,
  ...recorded,
} as const;

export type Catalog = typeof catalog;
export type MetricName = keyof Catalog;

export function lookupMetric(name: string): MetricDef | undefined {
  return (catalog as Record<string, MetricDef>)[name];
}
export { PER_HOST_BUDGET, STACK_BUDGET, perHostBudget, seriesBudget, type BudgetJob, type HostSize } from "./budget";
export {
  FULL_GPU,
  HOST_LABEL,
  HOST_LABELS,
  MIG_INSTANCE,
  PHYSICAL_GPU_LABELS,
  framebufferPercent,
  labelReplace,
  measured,
  measuredOverWindow,
  perPhysicalGpu,
  withHostLabel,
  withMigSlot,
  type DcgmMetric,
} from "./dcgm-queries";
