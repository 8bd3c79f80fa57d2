import { agg, range, re, recorded, sel, type DcgmMetric, type Matchers } from "../../metrics";

export { measured, type DcgmMetric } from "../../metrics";

/**
 * `fn(metric[window])` on the `$host` variable under either spelling of the raw host label:
 * dcgm-exporter 4.x emits `Hostname`, some relabelling `hostname`. A range selector cannot follow
 * an `or`, so the function is applied to each spelling and the results are joined. The `hostname`
 * half reads only series without `Hostname`, which wins where a series has both, as in the
 * recordings' `host`: with the variable at "All" (`.*`) the `Hostname` half selects every series,
 * and the other half would otherwise read every one of them again.
 */
export function onHostOverRange<M extends DcgmMetric>(fn: string, metric: M, window: string, matchers: Matchers<M> = {}): string {
  const upper = { ...matchers, Hostname: re("$host") } as Matchers<M>;
  const lower = { ...matchers, hostname: re("$host"), Hostname: "" } as Matchers<M>;
  return `(${fn}(${range(metric, window, upper)}) or ${fn}(${range(metric, window, lower)}))`;
}

/** One series per GPU host with its name in `host`, from the recorded series that fold both spellings into it. */
export function dcgmHostsExpr(): string {
  return agg("count", sel(recorded["gpu:DCGM_FI_DEV_GPU_TEMP:measured"]), ["host"]);
}
