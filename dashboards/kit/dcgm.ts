import { DCGM_SENTINEL_THRESHOLD, dcgm, range, re, sel, type Matchers } from "../../metrics";

export type DcgmMetric = (typeof dcgm)[keyof typeof dcgm];

/** Drops DCGM's blank values (2^47 and up), which are "not available", not measurements. */
export function measured(expr: string): string {
  return `${expr} < ${DCGM_SENTINEL_THRESHOLD}`;
}

/**
 * A DCGM selector limited to the `$host` variable whichever way the exporter spells the host
 * label: older DCGM exporters emit `Hostname`, newer ones (and some relabelling) `hostname`.
 * A series carries one or the other; `or` takes both, and with the variable at "All" (`.*`) the
 * two halves select the same series, which `or` keeps once.
 */
export function onHost<M extends DcgmMetric>(metric: M, matchers: Matchers<M> = {}): string {
  const upper = { ...matchers, Hostname: re("$host") } as Matchers<M>;
  const lower = { ...matchers, hostname: re("$host") } as Matchers<M>;
  return `(${sel(metric, upper)} or ${sel(metric, lower)})`;
}

/**
 * `fn(metric[window])` on the `$host` variable under either host label. A range selector cannot
 * follow an `or`, so the function is applied to each spelling and the results are joined.
 */
export function onHostOverRange<M extends DcgmMetric>(fn: string, metric: M, window: string, matchers: Matchers<M> = {}): string {
  const upper = { ...matchers, Hostname: re("$host") } as Matchers<M>;
  const lower = { ...matchers, hostname: re("$host") } as Matchers<M>;
  return `(${fn}(${range(metric, window, upper)}) or ${fn}(${range(metric, window, lower)}))`;
}

/** PromQL giving one series per host with the host name in a `host` label, from either spelling. */
export function dcgmHostsExpr(): string {
  const inner = `label_replace(${sel(dcgm.DCGM_FI_DEV_GPU_TEMP)}, "host", "$1", "hostname", "(.+)")`;
  return `count by (host) (label_replace(${inner}, "host", "$1", "Hostname", "(.+)"))`;
}
