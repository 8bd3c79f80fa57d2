import type { LabelOf, MetricDef } from "./define";

/**
 * A typed PromQL selector builder. Label names are checked against the catalog entry at compile
 * time, so `sel(dcgm.DCGM_FI_DEV_GPU_UTIL, { gpuu: "0" })` does not build.
 */
export type MatchOp = "=" | "!=" | "=~" | "!~";
export interface LabelMatch {
  readonly op: MatchOp;
  readonly value: string;
}
/** A plain string means equality. */
export type Matcher = string | LabelMatch;

export const eq = (value: string): LabelMatch => ({ op: "=", value });
export const ne = (value: string): LabelMatch => ({ op: "!=", value });
export const re = (value: string): LabelMatch => ({ op: "=~", value });
export const nre = (value: string): LabelMatch => ({ op: "!~", value });

export type Matchers<M extends MetricDef> = Partial<Record<LabelOf<M>, Matcher>>;

/** Escapes a label value for a PromQL double-quoted string. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

function renderMatchers(matchers: Record<string, Matcher | undefined>): string {
  const parts = Object.entries(matchers)
    .filter((entry): entry is [string, Matcher] => entry[1] !== undefined)
    .map(([label, m]) => {
      const { op, value } = typeof m === "string" ? { op: "=" as const, value: m } : m;
      return `${label}${op}${quote(value)}`;
    });
  return parts.length ? `{${parts.join(", ")}}` : "";
}

/** `name{matchers}` for a catalog metric. */
export function sel<M extends MetricDef>(metric: M, matchers: Matchers<M> = {}): string {
  return `${metric.name}${renderMatchers(matchers as Record<string, Matcher | undefined>)}`;
}

/** `name{matchers}[window]`: a range selector for rate(), *_over_time() and friends. */
export function range<M extends MetricDef>(metric: M, window: string, matchers: Matchers<M> = {}): string {
  return `${sel(metric, matchers)}[${window}]`;
}

/** Every label name any catalog metric declares, plus the target labels. */
export type AnyLabelOf<C extends Record<string, MetricDef>> = { [K in keyof C]: LabelOf<C[K]> }[keyof C];

export type AggregateOp = "sum" | "avg" | "min" | "max" | "count" | "group" | "stddev" | "stdvar";

/** `op by (labels) (expr)`; with no labels, `op(expr)`. */
export function agg(op: AggregateOp, expr: string, by: readonly string[] = []): string {
  return by.length ? `${op} by (${by.join(", ")}) (${expr})` : `${op}(${expr})`;
}

/** `fn(expr)` / `fn(range)` with optional trailing scalar arguments, e.g. call("rate", range(...)). */
export function call(fn: string, ...args: readonly (string | number)[]): string {
  return `${fn}(${args.join(", ")})`;
}
