/**
 * `(expr or vector(0))`: a count that is 0, not "No data", when nothing matches. The parentheses
 * matter: `or` binds looser than arithmetic, so `a or vector(0) - b` would not subtract from a.
 */
export function orZero(expr: string): string {
  return `(${expr} or vector(0))`;
}

/**
 * `perStep` for the `k` entities (grouped by `by`) that rank highest by `rankOverRange`, an
 * expression over `[$__range]` pinned to the range's end. A bare `topk` in a range query picks
 * its k per step, so a week of churn still draws every entity that was ever in a top k; ranking
 * once over the whole range keeps the chart to k lines, and `@ end()` makes Prometheus evaluate
 * the ranking once rather than at every step.
 */
export function topkOverRange(k: number, perStep: string, rankOverRange: string, by: readonly string[]): string {
  return `${perStep} and on(${by.join(", ")}) topk(${k}, ${rankOverRange})`;
}
