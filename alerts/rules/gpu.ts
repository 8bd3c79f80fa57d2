import { agg } from "../../metrics";

/**
 * Labels that name one physical GPU in DCGM's series. dcgm-exporter reports a GPU in MIG mode
 * only through its GPU instances, repeating device fields (temperature, power, XID, violation
 * counters) on each, so an expression about the card aggregates over these labels.
 */
export const GPU_LABELS = ["gpu", "UUID", "modelName", "Hostname", "hostname", "instance", "job"] as const;

/** One series per physical GPU: the highest of its instances' (identical) readings. */
export const perPhysicalGpu = (expr: string, extra: readonly string[] = []): string => agg("max", expr, [...GPU_LABELS, ...extra]);
