import type { Query, QueryData } from "./prometheus";
import { formatTable } from "./table";

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();

/** Every label name in the result, sorted, with the metric name first when any series has one. */
function labelColumns(metrics: readonly Readonly<Record<string, string>>[]): string[] {
  const names = new Set<string>();
  for (const m of metrics) for (const k of Object.keys(m)) names.add(k);
  const sorted = [...names].filter((n) => n !== "__name__").sort();
  return names.has("__name__") ? ["__name__", ...sorted] : sorted;
}

/** One row per series (instant) or per point (range), one column per label. */
export function resultTable(data: QueryData): string {
  switch (data.resultType) {
    case "vector": {
      const cols = labelColumns(data.result.map((s) => s.metric));
      if (data.result.length === 0) return "(no series)\n";
      return formatTable(
        [...cols.map((c) => c.toUpperCase()), "VALUE"],
        data.result.map((s) => [...cols.map((c) => s.metric[c] ?? ""), s.value[1]]),
      );
    }
    case "matrix": {
      const cols = labelColumns(data.result.map((s) => s.metric));
      if (data.result.length === 0) return "(no series)\n";
      return formatTable(
        [...cols.map((c) => c.toUpperCase()), "TIME", "VALUE"],
        data.result.flatMap((s) => s.values.map(([t, v]) => [...cols.map((c) => s.metric[c] ?? ""), iso(t), v])),
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
