import type { Query, QueryData } from "./prometheus";
import { lookupMetric } from "../metrics";
import { unitOf } from "../metrics/analyze";
import { formatTable } from "./table";
import { formatValue } from "./units";

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();

/** Label columns: the metric name first, then `gpu`, then the rest alphabetically; names as Prometheus gives them. */
function labelColumns(metrics: readonly Readonly<Record<string, string>>[]): string[] {
  const names = new Set<string>();
  for (const m of metrics) for (const k of Object.keys(m)) names.add(k);
  const first = ["__name__", "gpu"].filter((n) => names.has(n));
  return [...first, ...[...names].filter((n) => !first.includes(n)).sort()];
}

const natural = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Series in natural order: by GPU index (2 before 10), then metric name, then the other labels. */
function naturalOrder<T extends { metric: Readonly<Record<string, string>> }>(series: readonly T[], cols: readonly string[]): T[] {
  return [...series].sort((a, b) => {
    for (const c of cols) {
      const d = natural.compare(a.metric[c] ?? "", b.metric[c] ?? "");
      if (d !== 0) return d;
    }
    return 0;
  });
}

/** How to show values: the unit of each series' metric from the catalog, else the expression's. */
export interface ValueFormat {
  readonly unitOf: (metric: Readonly<Record<string, string>>) => string | undefined;
}

export const PLAIN_NUMBERS: ValueFormat = { unitOf: () => undefined };

/** Units from the metric catalog: a series' own metric name, else what the expression keeps (unitOf). */
export function catalogFormat(expr: string): ValueFormat {
  const exprUnit = unitOf(expr);
  return { unitOf: (metric) => (metric.__name__ !== undefined ? lookupMetric(metric.__name__)?.unit : exprUnit) };
}

function summary(values: readonly (readonly [number, string])[]): { min: number; avg: number; max: number; last: number } {
  const nums = values.map(([, v]) => Number(v)).filter((n) => !Number.isNaN(n));
  if (nums.length === 0) return { min: Number.NaN, avg: Number.NaN, max: Number.NaN, last: Number.NaN };
  return { min: Math.min(...nums), avg: nums.reduce((a, b) => a + b, 0) / nums.length, max: Math.max(...nums), last: nums[nums.length - 1] ?? Number.NaN };
}

/**
 * One row per series, one column per label (names as they are). Instant values and range
 * summaries (min, avg, max, last over the points) are shown in the metric's unit; `raw` gives
 * range results as one row per point with Prometheus's own numbers.
 */
export function resultTable(data: QueryData, format: ValueFormat = PLAIN_NUMBERS, options: { raw?: boolean } = {}): string {
  const show = (metric: Readonly<Record<string, string>>, v: string | number): string => (options.raw ? String(v) : formatValue(String(v), format.unitOf(metric)));
  switch (data.resultType) {
    case "vector": {
      if (data.result.length === 0) return "(no series)\n";
      const cols = labelColumns(data.result.map((s) => s.metric));
      return formatTable(
        [...cols, "VALUE"],
        naturalOrder(data.result, cols).map((s) => [...cols.map((c) => s.metric[c] ?? ""), show(s.metric, s.value[1])]),
      );
    }
    case "matrix": {
      if (data.result.length === 0) return "(no series)\n";
      const cols = labelColumns(data.result.map((s) => s.metric));
      const ordered = naturalOrder(data.result, cols);
      if (options.raw) {
        return formatTable(
          [...cols, "TIME", "VALUE"],
          ordered.flatMap((s) => s.values.map(([t, v]) => [...cols.map((c) => s.metric[c] ?? ""), iso(t), v])),
        );
      }
      return formatTable(
        [...cols, "MIN", "AVG", "MAX", "LAST", "POINTS"],
        ordered.map((s) => {
          const sum = summary(s.values);
          return [...cols.map((c) => s.metric[c] ?? ""), show(s.metric, sum.min), show(s.metric, sum.avg), show(s.metric, sum.max), show(s.metric, sum.last), String(s.values.length)];
        }),
      );
    }
    case "scalar":
    case "string":
      return formatTable(["TIME", "VALUE"], [[iso(data.result[0]), data.result[1]]]);
  }
}

/** The query as asked plus Prometheus's result, for files and for `--output json`. */
export function resultJson(query: Query, data: QueryData): string {
  const asked =
    query.kind === "instant"
      ? { kind: query.kind, query: query.expr, ...(query.time ? { time: query.time.toISOString() } : {}) }
      : { kind: query.kind, query: query.expr, start: query.start.toISOString(), end: query.end.toISOString(), stepSeconds: query.stepSeconds };
  return `${JSON.stringify({ ...asked, resultType: data.resultType, result: data.result }, null, 2)}\n`;
}

export function seriesCount(data: QueryData): number {
  return data.resultType === "vector" || data.resultType === "matrix" ? data.result.length : 1;
}
