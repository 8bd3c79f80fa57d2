import type { LabelOf, MetricDef } from "../metrics";
import { quote } from "../metrics";
import type { Severity } from "./config";

export type { Severity } from "./config";

/**
 * The typed rule model: what a rule file holds, plus the test cases that prove each alert.
 * Rule sets build these from the thresholds; render.ts turns them into Prometheus rule files and
 * promtool.ts into promtool's unit-test format.
 */

/** One input series of a promtool test: `series` in selector form, `values` in promtool's expanding notation. */
export interface InputSeries {
  readonly series: string;
  readonly values: string;
}

/** An input series for a catalog metric; label names are checked against the catalog at compile time. */
export function input<M extends MetricDef>(metric: M, labels: Partial<Record<LabelOf<M>, string>>, values: string): InputSeries {
  const parts = Object.entries(labels as Record<string, string | undefined>)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${quote(v)}`);
  return { series: `${metric.name}{${parts.join(", ")}}`, values };
}

/** An alert the case expects to be firing at `at`: its labels beyond the rule's own, and its annotations. */
export interface ExpectedAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly summary: string;
  readonly description: string;
}

export interface AlertCase {
  /** What the case shows, e.g. "idle for 31m fires". */
  readonly name: string;
  /** Step between input samples; promtool's default is 1m. */
  readonly interval?: string;
  readonly input: readonly InputSeries[];
  /** Evaluation time, from the start of the series. */
  readonly at: string;
  /** Every alert of this rule firing at `at`; empty means the rule must be silent. */
  readonly expect: readonly ExpectedAlert[];
}

export interface AlertingRule {
  readonly kind: "alert";
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly severity: Severity;
  /**
   * Alerts that describe the same condition at different severities share a family: the more
   * severe one inhibits the others for the same target (see alertmanager.ts).
   */
  readonly family?: string;
  readonly summary: string;
  /** Go template text; `{{ $labels.x }}` and `{{ $value }}` are filled in by Prometheus. */
  readonly description: string;
  /** For the docs: the condition in words and the thresholds it reads, with their values. */
  readonly condition: string;
  readonly thresholds?: Readonly<Record<string, number | string>>;
  readonly cases: readonly AlertCase[];
  /**
   * A dead man's switch: it must always fire, so it has no case where it is silent; its cases
   * instead show it firing with no input at all.
   */
  readonly alwaysFiring?: boolean;
}

export interface RecordingRule {
  readonly kind: "record";
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export type Rule = AlertingRule | RecordingRule;

export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: readonly Rule[];
}

export type RuleSetId = "ds01" | "dcgm" | "drm" | "stack" | "slurm" | "kubernetes";

/** One module's rules: recording groups (always rendered, dashboards read them) and alert groups (switchable). */
export interface RuleSet {
  readonly id: RuleSetId;
  readonly title: string;
  readonly recording: readonly RuleGroup[];
  readonly alerting: readonly RuleGroup[];
}

export type AlertSpec = Omit<AlertingRule, "kind">;
export const alert = (spec: AlertSpec): AlertingRule => ({ kind: "alert", ...spec });
export const record = (name: string, expr: string, labels?: Record<string, string>): RecordingRule => ({
  kind: "record",
  record: name,
  expr,
  ...(labels ? { labels } : {}),
});

const DURATION_UNITS: Readonly<Record<string, number>> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};

/** Milliseconds in a Prometheus duration. */
export function durationMs(d: string): number {
  const parts = [...d.matchAll(/(\d+)(ms|y|w|d|h|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== d) throw new Error(`not a Prometheus duration: ${d}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (DURATION_UNITS[p[2] ?? ""] ?? 0), 0);
}

/** A duration in Prometheus's own canonical form (`90m` -> `1h30m`). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "0s";
  let rest = ms;
  let out = "";
  for (const unit of ["d", "h", "m", "s", "ms"] as const) {
    const size = DURATION_UNITS[unit] ?? 1;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/** A number as PromQL text: no exponent for ordinary values, no float noise (0.1 * 3). */
export function num(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

/**
 * What Prometheus's `humanize` prints for a value between 1 and 1000 (Go's `%.4g`); test cases
 * use it to state the annotation they expect.
 */
export function humanized(v: number): string {
  return String(Number(v.toPrecision(4)));
}

/** Prometheus's humanizeDuration for a whole number of seconds of at least a minute, as the cases expect it. */
export function humanDuration(seconds: number): string {
  const [d, h, m, s] = [Math.floor(seconds / 86_400), Math.floor(seconds / 3600) % 24, Math.floor(seconds / 60) % 60, seconds % 60];
  if (d) return `${d}d ${h}h ${m}m ${s}s`;
  if (h) return `${h}h ${m}m ${s}s`;
  return `${m}m ${s}s`;
}
