import { DCGM_SENTINEL_THRESHOLD, type MetricDef, call, range } from "../../metrics";
import { num } from "../model";

/**
 * DCGM writes a value near 2^63 (or 2^47 for floats) when a field is blank. These wrap DCGM
 * selectors so such a sample drops out of an expression instead of reading as 9.2e18 degrees.
 */

/** `(expr < sentinel)`: drops blank samples at the evaluation instant. */
export const real = (expr: string): string => `(${expr} < ${num(DCGM_SENTINEL_THRESHOLD)})`;

/**
 * `max_over_time(metric[window]) < sentinel`: true only when every sample in the window is a
 * measurement, for rate()/changes()/increase() that a single blank sample would blow up.
 */
export const realOverWindow = (metric: MetricDef, window: string): string =>
  `${call("max_over_time", range(metric, window))} < ${num(DCGM_SENTINEL_THRESHOLD)}`;
