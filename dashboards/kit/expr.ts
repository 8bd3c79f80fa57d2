/**
 * `(expr or vector(0))`: a count that is 0, not "No data", when nothing matches. The parentheses
 * matter: `or` binds looser than arithmetic, so `a or vector(0) - b` would not subtract from a.
 */
export function orZero(expr: string): string {
  return `(${expr} or vector(0))`;
}
