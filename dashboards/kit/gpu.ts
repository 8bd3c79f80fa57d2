import { dcgm, ds01, ne, sel } from "../../metrics";
import { measured } from "./dcgm";

/**
 * Adds DS01's `slot` ("1.0") to a per-MIG-instance DCGM series by joining on the GPU and the
 * instance id that ds01_mig_slot_info maps (its gpu_i_id is DCGM's GPU_I_ID).
 */
export function withMigSlot(expr: string): string {
  const mapping = `label_replace(${sel(ds01.ds01_mig_slot_info)}, "GPU_I_ID", "$1", "gpu_i_id", "(.+)")`;
  return `(${expr}) * on(gpu, GPU_I_ID) group_left(slot) ${mapping}`;
}

/** Utilisation (0-100) of each full GPU; MIG-enabled GPUs report blank here and are dropped. */
export function fullGpuUtilisation(): string {
  return measured(sel(dcgm.DCGM_FI_DEV_GPU_UTIL, { GPU_I_ID: "" }));
}

/** Utilisation (0-100) of each MIG instance: graphics-engine activity, a 0-1 ratio in DCGM. */
export function migUtilisation(): string {
  return withMigSlot(`(${measured(sel(dcgm.DCGM_FI_PROF_GR_ENGINE_ACTIVE, { GPU_I_ID: ne("") }))}) * 100`);
}

function memoryPercent(instance: "full" | "mig"): string {
  const m = instance === "full" ? { GPU_I_ID: "" } : { GPU_I_ID: ne("") };
  const used = measured(sel(dcgm.DCGM_FI_DEV_FB_USED, m));
  const free = measured(sel(dcgm.DCGM_FI_DEV_FB_FREE, m));
  return `100 * (${used}) / ((${used}) + (${free}))`;
}

export function fullGpuMemoryPercent(): string {
  return memoryPercent("full");
}

export function migMemoryPercent(): string {
  return withMigSlot(memoryPercent("mig"));
}
