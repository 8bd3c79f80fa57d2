/**
 * Grafana's variable interpolation for Prometheus queries, as far as generated dashboards use it:
 * `$name`, `${name}`, `${name:format}` and `[[name]]`, plus the built-in interval/range variables.
 * Values are what a user gets by default: the first option of a single-value variable, the "All"
 * value of one that includes All, and for multi-value ones Grafana's `(a|b)` regex form.
 */

export interface VariableValue {
  /** What replaces the variable in the expression. */
  readonly text: string;
  /** Where it came from, for failure messages. */
  readonly describe: string;
}

/**
 * Built-ins Grafana fills from the time range and scrape interval. The suite's scrape interval
 * is 1s, so a 1m rate window always holds many samples once the stack has run a few seconds.
 */
export const BUILTIN_VALUES: Readonly<Record<string, string>> = {
  __rate_interval: "1m",
  __interval: "5s",
  __interval_ms: "5000",
  __range: "5m",
  __range_s: "300",
  __range_ms: "300000",
  __auto: "5s",
};

/**
 * Escapes a label value for use inside a regex matcher, the way Grafana's Prometheus datasource
 * does: for the regex, and again for the PromQL string it lands in (`a.b` is sent as `a\\.b`, which
 * Prometheus reads as the regex `a\.b`; a single backslash before `.` is a PromQL parse error).
 */
export function escapeRegexValue(value: string): string {
  return value.replace(/\\/g, "\\\\\\\\").replace(/[\^$*+?.()|{}[\]]/g, "\\\\$&");
}

/**
 * The default value a user sees for a variable, given its options as Prometheus returns them now.
 * "All" with no custom all value is every option as `(a|b)`, or `()` with none: Grafana's
 * Prometheus data source joins the options so, and `()` matches only an absent label.
 */
export function defaultVariableValue(
  variable: { name: string; multi: boolean; includeAll: boolean },
  options: readonly string[],
  allValue: string | undefined,
): VariableValue | undefined {
  if (variable.includeAll && allValue !== undefined) return { text: allValue, describe: `${variable.name}=All(${allValue})` };
  if (variable.includeAll) {
    return { text: `(${options.map(escapeRegexValue).join("|")})`, describe: `${variable.name}=All(${options.join(", ") || "none"})` };
  }
  const first = options[0];
  if (first === undefined) return undefined;
  // A multi-value variable is always interpolated as a regex alternation, even with one value.
  if (variable.multi) return { text: `(${escapeRegexValue(first)})`, describe: `${variable.name}=${first}` };
  return { text: first, describe: `${variable.name}=${first}` };
}

const REFERENCE = /\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)/g;

/** Variable names an expression refers to (built-ins included). */
export function referencedVariables(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(REFERENCE)) names.add(m[1] ?? m[2] ?? m[3] ?? "");
  names.delete("");
  for (const n of names) if (/^\d+$/.test(n)) names.delete(n);
  return [...names];
}

/**
 * Replaces every variable reference; returns the names it could not resolve so the caller can
 * report them instead of sending a broken query.
 */
export function interpolate(
  expr: string,
  values: Readonly<Record<string, string>>,
): { expr: string; unresolved: string[] } {
  const unresolved: string[] = [];
  const out = expr.replace(REFERENCE, (whole, braced?: string, bracketed?: string, bare?: string) => {
    const name = braced ?? bracketed ?? bare ?? "";
    // `$1` is a regex back-reference (label_replace), not a variable; Grafana leaves it alone too.
    if (/^\d+$/.test(name)) return whole;
    const value = values[name] ?? BUILTIN_VALUES[name];
    if (value === undefined) {
      unresolved.push(name);
      return whole;
    }
    return value;
  });
  return { expr: out, unresolved };
}
