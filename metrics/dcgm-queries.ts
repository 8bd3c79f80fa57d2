import { dcgm, DCGM_INT64_SENTINEL_THRESHOLD, DCGM_SENTINEL_THRESHOLD } from "./dcgm";
import type { MetricDef } from "./define";
import { ds01 } from "./ds01";
import { agg, call, ne, range, sel, type Matchers } from "./promql";

/**
 * The PromQL vocabulary for DCGM series that alerts/ and dashboards/ share: blank values, the host
 * label's two spellings, full GPUs against MIG instances, one series per physical GPU, the MIG slot
 * join and framebuffer percentages. Written once here, so a rule and a panel that mean the same
 * thing say it in the same words.
 */

export type DcgmMetric = (typeof dcgm)[keyof typeof dcgm];

/**
 * `(expr < 2^47)`: drops DCGM's blank samples (2^63-16 and up for int64 fields, 2^47 for floats),
 * which mean "not available", so one never reads as 9.2e18 degrees.
 */
export function measured(expr: string): string {
  return `(${expr} < ${DCGM_SENTINEL_THRESHOLD})`;
}

/**
 * `max_over_time(counter[window]) < 9e18`: true only when every sample in the window is a
 * measurement, for rate(), increase() and changes(), which one blank sample would blow up. DCGM's
 * counters are int64 fields, so the int64 blanks are what to drop; a counter past 2^47 is real.
 */
export function measuredOverWindow<M extends MetricDef>(metric: M, window: string, matchers: Matchers<M> = {}): string {
  if (metric.type !== "counter") throw new Error(`${metric.name}: measuredOverWindow is for counters, not a ${metric.type}`);
  return `${call("max_over_time", range(metric, window, matchers))} < ${DCGM_INT64_SENTINEL_THRESHOLD}`;
}

/** A full GPU's series: no GPU instance id. */
export const FULL_GPU = { GPU_I_ID: "" } as const;
/** A MIG instance's series. */
export const MIG_INSTANCE = { GPU_I_ID: ne("") } as const;

/**
 * dcgm-exporter names the host `Hostname` (4.x); some deployments relabel it to `hostname`. A
 * series carries one or the other; recorded series carry it once, as `host`.
 */
export const HOST_LABELS = ["Hostname", "hostname"] as const;
export const HOST_LABEL = "host";

/** `label_replace(expr, dst, replacement, src, regex)`. */
export function labelReplace(expr: string, dst: string, replacement: string, src: string, regex = "(.+)"): string {
  return call("label_replace", expr, `"${dst}"`, `"${replacement}"`, `"${src}"`, `"${regex}"`);
}

/** `expr` with its host, whichever spelling the exporter used, also in a `host` label. */
export function withHostLabel(expr: string): string {
  return labelReplace(labelReplace(expr, HOST_LABEL, "$1", "hostname"), HOST_LABEL, "$1", "Hostname");
}

/**
 * Labels that name one physical GPU in raw DCGM series. dcgm-exporter reports a GPU in MIG mode
 * only through its GPU instances, repeating device fields (temperature, power, XID, violation
 * counters) on each, so an expression about the card aggregates over these labels.
 */
export const PHYSICAL_GPU_LABELS = ["gpu", "UUID", "modelName", ...HOST_LABELS, "instance", "job"] as const;

/** One series per physical GPU: the highest of its instances' (identical) readings. */
export function perPhysicalGpu(expr: string, extra: readonly string[] = []): string {
  return agg("max", expr, [...PHYSICAL_GPU_LABELS, ...extra]);
}

/** Framebuffer in use (0-100) of the entities `matchers` select, blank readings dropped. */
export function framebufferPercent(matchers: Matchers<typeof dcgm.DCGM_FI_DEV_FB_USED> = {}): string {
  const used = measured(sel(dcgm.DCGM_FI_DEV_FB_USED, matchers));
  const free = measured(sel(dcgm.DCGM_FI_DEV_FB_FREE, matchers));
  return `(${used} / (${used} + ${free}) * 100)`;
}

/**
 * Adds DS01's slot ("1.0") to a per-MIG-instance series, as `slotLabel`, by joining on the GPU
 * and the instance id that ds01_mig_slot_info maps (its gpu_i_id is DCGM's GPU_I_ID).
 */
export function withMigSlot(expr: string, slotLabel: "slot" | "gpu_slot"): string {
  const byInstance = labelReplace(sel(ds01.ds01_mig_slot_info), "GPU_I_ID", "$1", "gpu_i_id");
  const mapping = slotLabel === "slot" ? byInstance : labelReplace(byInstance, slotLabel, "$1", "slot");
  return `(${expr}) * on(gpu, GPU_I_ID) group_left(${slotLabel}) ${mapping}`;
}
