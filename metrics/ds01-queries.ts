import { ds01 } from "./ds01";
import { agg, sel } from "./promql";

/**
 * Physical GPUs of a DS01 host: those allocatable whole (ds01_gpu_slot_info, which leaves MIG
 * parents out) plus each GPU in MIG mode once (the parents of ds01_mig_slot_info). 0 when neither
 * is known, rather than no series.
 */
export function physicalGpuCount(): string {
  return `(${agg("count", sel(ds01.ds01_gpu_slot_info))} or vector(0)) + (${agg("count", agg("count", sel(ds01.ds01_mig_slot_info), ["gpu"]))} or vector(0))`;
}
