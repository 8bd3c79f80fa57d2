import { dcgm } from "./dcgm";
import { metric, type MetricDef } from "./define";

const rec = <const N extends string, const L extends string = never>(
  name: N,
  help: string,
  labels?: readonly L[],
  unit?: string,
) => metric({ name, type: "gauge", help, labels: labels ?? [], source: "recording", ...(unit ? { unit } : {}) });

const DEVICE_LABELS = ["device", "gpu", "UUID", "modelName", "Hostname", "hostname"] as const;

/**
 * DCGM fields recorded clean (alerts/rules/dcgm-recording.ts): blank values dropped, the host in
 * one `host` label whichever way the exporter spelled it, and only the labels a panel groups by,
 * so a panel reads one plain selector instead of two selectors and a filter per query.
 */
type DcgmField = keyof typeof dcgm;

/** Per DCGM entity: each full GPU and each MIG instance (utilisation and memory are per instance). */
export const DCGM_ENTITY_FIELDS = [
  "DCGM_FI_DEV_GPU_UTIL",
  "DCGM_FI_DEV_MEM_COPY_UTIL",
  "DCGM_FI_DEV_ENC_UTIL",
  "DCGM_FI_DEV_DEC_UTIL",
  "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
  "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
  "DCGM_FI_PROF_DRAM_ACTIVE",
  "DCGM_FI_DEV_FB_USED",
  "DCGM_FI_DEV_FB_FREE",
] as const satisfies readonly DcgmField[];
export const DCGM_ENTITY_LABELS = ["host", "gpu", "UUID", "modelName", "GPU_I_ID", "GPU_I_PROFILE", "pod", "namespace", "container"] as const;

/** Per physical GPU: device-level fields, which a MIG GPU repeats on each of its instances. */
export const DCGM_GPU_FIELDS = [
  "DCGM_FI_DEV_GPU_TEMP",
  "DCGM_FI_DEV_MEMORY_TEMP",
  "DCGM_FI_DEV_POWER_USAGE",
  "DCGM_FI_DEV_SM_CLOCK",
  "DCGM_FI_DEV_MEM_CLOCK",
  "DCGM_FI_PROF_PCIE_TX_BYTES",
  "DCGM_FI_PROF_PCIE_RX_BYTES",
  "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
  "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
  "DCGM_FI_DEV_ROW_REMAP_FAILURE",
] as const satisfies readonly DcgmField[];
export const DCGM_GPU_LABELS = ["host", "gpu", "UUID", "modelName"] as const;
/** Counters recorded as a per-second rate over 5 minutes per physical GPU; a panel averages them over its interval. */
export const DCGM_GPU_RATE_FIELDS = [
  "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
  "DCGM_FI_DEV_THERMAL_VIOLATION",
  "DCGM_FI_DEV_POWER_VIOLATION",
  "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
  "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
  "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
  "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
] as const satisfies readonly DcgmField[];
/** Window of the recorded DCGM counter rates. */
export const DCGM_RATE_WINDOW = "5m";
/** The last XID per physical GPU keeps its code and message. */
export const DCGM_XID_LABELS = [...DCGM_GPU_LABELS, "err_code", "err_msg"] as const;

type EntityField = (typeof DCGM_ENTITY_FIELDS)[number];
type GpuField = (typeof DCGM_GPU_FIELDS)[number];
export type MeasuredEntityName<F extends EntityField = EntityField> = `gpu_entity:${F}:measured`;
export type MeasuredGpuName<F extends GpuField | "DCGM_FI_DEV_XID_ERRORS" = GpuField | "DCGM_FI_DEV_XID_ERRORS"> = `gpu:${F}:measured`;

function measuredRecords<const F extends DcgmField, const P extends string, const L extends string, const S extends string = "measured">(
  level: P,
  fields: readonly F[],
  labels: readonly L[],
  per: string,
  suffix: S = "measured" as S,
): { readonly [K in F as `${P}:${K}:${S}`]: MetricDef<`${P}:${K}:${S}`, L> } {
  return Object.fromEntries(
    fields.map((f) => {
      const name = `${level}:${f}:${suffix}`;
      const unit = suffix === "measured" ? dcgm[f].unit : undefined;
      return [name, rec(name, `${dcgm[f].help} ${per}, blank values dropped.`, labels, unit)];
    }),
  ) as { readonly [K in F as `${P}:${K}:${S}`]: MetricDef<`${P}:${K}:${S}`, L> };
}

const dcgmMeasured = {
  ...measuredRecords("gpu_entity", DCGM_ENTITY_FIELDS, DCGM_ENTITY_LABELS, "Per full GPU and MIG instance"),
  "gpu_entity:dcgm_framebuffer_used:percent": rec(
    "gpu_entity:dcgm_framebuffer_used:percent",
    "Framebuffer in use (0-100) per full GPU and MIG instance, blank values dropped.",
    DCGM_ENTITY_LABELS,
    "percent",
  ),
  ...measuredRecords("gpu", DCGM_GPU_FIELDS, DCGM_GPU_LABELS, "Per physical GPU"),
  ...measuredRecords("gpu", ["DCGM_FI_DEV_XID_ERRORS"] as const, DCGM_XID_LABELS, "Per physical GPU"),
  ...measuredRecords("gpu", DCGM_GPU_RATE_FIELDS, DCGM_GPU_LABELS, "Per second over 5 minutes, per physical GPU (windows holding a blank value left out)", "rate5m"),
};

/**
 * Series produced by our recording rules (alerts/ renders the rules). Names follow DS01's
 * recording rules so existing dashboards keep working.
 */
export const recorded = {
  ...dcgmMeasured,
  "ds01:gpu_utilization_by_slot": rec(
    "ds01:gpu_utilization_by_slot",
    "Utilisation (0-100) of every full GPU and MIG instance, labelled with DS01's gpu_slot.",
    ["gpu_slot", "gpu", "GPU_I_ID", "UUID", "modelName", "Hostname", "hostname"],
    "percent",
  ),
  "ds01:user_gpu_utilization_avg": rec("ds01:user_gpu_utilization_avg", "Average utilisation of a user's slots.", ["user"], "percent"),
  "ds01:user_gpu_utilization_max": rec("ds01:user_gpu_utilization_max", "Highest utilisation among a user's slots.", ["user"], "percent"),
  "ds01:user_gpu_memory_percent": rec("ds01:user_gpu_memory_percent", "Average framebuffer use of a user's slots.", ["user"], "percent"),
  "ds01:user_gpu_equivalents": rec("ds01:user_gpu_equivalents", "GPU-equivalents allocated to a user.", ["user"]),
  "ds01:group_gpu_equivalents": rec(
    "ds01:group_gpu_equivalents",
    "GPU-equivalents allocated to the members of a DS01 group (a member of two groups counts in both).",
    ["group"],
  ),
  "ds01:allocation_utilization": rec(
    "ds01:allocation_utilization",
    "Each allocation joined to its slot's utilisation (0-100).",
    ["gpu_slot", "container", "user", "interface"],
    "percent",
  ),
  "ds01:system_gpu_utilization_avg": rec("ds01:system_gpu_utilization_avg", "Average utilisation over all GPUs and MIG instances.", [], "percent"),
  "ds01:system_gpu_slots_total": rec("ds01:system_gpu_slots_total", "Allocatable slots: full GPUs plus MIG instances."),
  "ds01:system_gpu_slots_allocated": rec("ds01:system_gpu_slots_allocated", "Allocated slots."),
  "ds01:system_gpu_slots_free": rec("ds01:system_gpu_slots_free", "Free slots."),
  "ds01:system_gpu_equivalents_total": rec("ds01:system_gpu_equivalents_total", "GPU-equivalents the host has (physical GPUs)."),
  "ds01:system_gpu_equivalents_allocated": rec("ds01:system_gpu_equivalents_allocated", "GPU-equivalents allocated."),
  "ds01:system_gpu_equivalents_free": rec("ds01:system_gpu_equivalents_free", "GPU-equivalents free."),
  "ds01:system_active_users": rec("ds01:system_active_users", "Users holding at least one slot."),
  "ds01:system_containers_running": rec("ds01:system_containers_running", "Running DS01 containers."),
  "ds01:system_gpu_temp_max": rec("ds01:system_gpu_temp_max", "Hottest GPU.", [], "celsius"),
  "ds01:gpu_waste_count": rec("ds01:gpu_waste_count", "Allocated slots below the waste utilisation threshold."),
  "ds01:gpu_waste_percent": rec("ds01:gpu_waste_percent", "Share of allocated slots that are wasted.", [], "percent"),
  "ds01:device_utilization": rec("ds01:device_utilization", "Utilisation per device (\"GPU 0\", \"MIG 1.0\").", DEVICE_LABELS, "percent"),
  "ds01:device_memory_percent": rec("ds01:device_memory_percent", "Framebuffer use per device.", DEVICE_LABELS, "percent"),
  "ds01:device_temperature": rec("ds01:device_temperature", "Temperature per physical GPU.", DEVICE_LABELS, "celsius"),
  "ds01:device_power_watts": rec("ds01:device_power_watts", "Power per physical GPU.", DEVICE_LABELS, "watt"),
  "ds01:gpu_memory_percent_by_slot": rec(
    "ds01:gpu_memory_percent_by_slot",
    "Framebuffer use (0-100) of every full GPU and MIG instance, labelled with DS01's gpu_slot.",
    ["gpu_slot", "gpu", "GPU_I_ID", "UUID", "modelName", "Hostname", "hostname"],
    "percent",
  ),
  "drm:task_throughput_per_second:baseline_avg": rec(
    "drm:task_throughput_per_second:baseline_avg",
    "Average DRM task throughput over the regression baseline window (before the recent window).",
    [],
    "ops",
  ),
  "drm:task_throughput_per_second:baseline_stddev": rec(
    "drm:task_throughput_per_second:baseline_stddev",
    "Standard deviation of DRM task throughput over the regression baseline window.",
    [],
    "ops",
  ),
  "drm:task_throughput_per_second:zscore": rec(
    "drm:task_throughput_per_second:zscore",
    "Recent DRM task throughput in baseline standard deviations from the baseline average (negative: slower).",
  ),
  "drm:allocation_time_milliseconds:baseline_avg": rec(
    "drm:allocation_time_milliseconds:baseline_avg",
    "Average DRM allocation time over the regression baseline window (before the recent window).",
    [],
    "ms",
  ),
  "drm:allocation_time_milliseconds:baseline_stddev": rec(
    "drm:allocation_time_milliseconds:baseline_stddev",
    "Standard deviation of DRM allocation time over the regression baseline window.",
    [],
    "ms",
  ),
  "drm:allocation_time_milliseconds:zscore": rec(
    "drm:allocation_time_milliseconds:zscore",
    "Recent DRM allocation time in baseline standard deviations from the baseline average (positive: slower).",
  ),
  "drm:worker_cpu_utilization_percent:stats": rec(
    "drm:worker_cpu_utilization_percent:stats",
    "Lowest, average and highest CPU utilisation across the DRM workers alive (stat=min|avg|max).",
    ["stat"],
    "percent",
  ),
  "drm:worker_memory_utilization_percent:stats": rec(
    "drm:worker_memory_utilization_percent:stats",
    "Lowest, average and highest memory utilisation across the DRM workers alive (stat=min|avg|max).",
    ["stat"],
    "percent",
  ),
  "drm:worker_gpu_utilization_percent:stats": rec(
    "drm:worker_gpu_utilization_percent:stats",
    "Lowest, average and highest GPU utilisation across the DRM workers alive (stat=min|avg|max).",
    ["stat"],
    "percent",
  ),
  "instance_mode:node_cpu_busy_percent:rate5m": rec(
    "instance_mode:node_cpu_busy_percent:rate5m",
    "Share of a host's CPU time (0-100, all cores together) spent in each non-idle mode over 5 minutes.",
    ["mode"],
    "percent",
  ),
  "instance:node_cpus:count": rec("instance:node_cpus:count", "CPU cores of a host, as node-exporter counts them."),
  // Per named container (alerts/rules/container-recording.ts): cAdvisor's cgroup, image and cpu labels summed away.
  "name:container_cpu_usage_seconds:rate5m": rec(
    "name:container_cpu_usage_seconds:rate5m",
    "CPU cores a named container used, averaged over 5 minutes (cAdvisor).",
    ["name"],
    "short",
  ),
  "name:container_memory_working_set_bytes:sum": rec(
    "name:container_memory_working_set_bytes:sum",
    "Working set of a named container (cAdvisor).",
    ["name"],
    "bytes",
  ),
  "name:container_spec_memory_limit_bytes:sum": rec(
    "name:container_spec_memory_limit_bytes:sum",
    "Memory limit of a named container; 0 when it has none (cAdvisor).",
    ["name"],
    "bytes",
  ),
  "name:container_network_receive_bytes:rate5m": rec(
    "name:container_network_receive_bytes:rate5m",
    "Bytes per second a named container received over all its interfaces, over 5 minutes (cAdvisor).",
    ["name"],
    "Bps",
  ),
  "name:container_network_transmit_bytes:rate5m": rec(
    "name:container_network_transmit_bytes:rate5m",
    "Bytes per second a named container sent over all its interfaces, over 5 minutes (cAdvisor).",
    ["name"],
    "Bps",
  ),
  // Kubernetes GPU scheduling (kube-state-metrics) joined with DCGM's pod mapping. "Devices" are
  // whole GPUs and MIG slices, each as the extended resource (`resource`) that was requested.
  "k8s:pod_gpu_requests": rec(
    "k8s:pod_gpu_requests",
    "GPU devices requested by each Pending or Running pod, per resource; no node while the pod is unscheduled.",
    ["namespace", "pod", "node", "resource"],
  ),
  "k8s:node_gpu_allocated": rec("k8s:node_gpu_allocated", "GPU devices held by the pods scheduled on a node, per resource.", ["node", "resource"]),
  "k8s:namespace_gpu_allocated": rec(
    "k8s:namespace_gpu_allocated",
    "GPU devices held by a namespace's scheduled pods, per resource.",
    ["namespace", "resource"],
  ),
  "k8s:namespace_gpu_pending": rec(
    "k8s:namespace_gpu_pending",
    "GPU devices requested by a namespace's pods the scheduler has not placed, per resource.",
    ["namespace", "resource"],
  ),
  "k8s:pod_gpu_utilization": rec(
    "k8s:pod_gpu_utilization",
    "Average utilisation (0-100) of the GPUs and MIG instances a pod uses, from DCGM's pod mapping.",
    ["namespace", "pod"],
    "percent",
  ),
  "k8s:pod_gpu_busy": rec("k8s:pod_gpu_busy", "GPU devices a pod keeps busy: the sum of its devices' utilisation as a 0-1 share.", ["namespace", "pod"]),
  "k8s:node_gpu_busy": rec("k8s:node_gpu_busy", "GPU devices kept busy by the pods on a node.", ["node"]),
  "k8s:namespace_gpu_busy": rec("k8s:namespace_gpu_busy", "GPU devices kept busy by a namespace's pods.", ["namespace"]),
  "k8s:pod_gpu_idle": rec(
    "k8s:pod_gpu_idle",
    "GPU devices held by a scheduled pod whose utilisation is below the idle threshold, per resource.",
    ["namespace", "pod", "node", "resource"],
  ),
  "k8s:namespace_gpu_idle": rec("k8s:namespace_gpu_idle", "GPU devices held idle by a namespace's pods.", ["namespace"]),
} as const;
