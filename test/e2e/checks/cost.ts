import type { PrometheusApi } from "../../../cli/local/prometheus-api";

export interface SeriesCount {
  readonly labels: Readonly<Record<string, string>>;
  readonly series: number;
}

/** `count by (<by>) ({__name__=~".+"})`: the stack's own cost in series, grouped. */
export async function seriesBy(api: PrometheusApi, by: readonly string[], selector = '{__name__=~".+"}'): Promise<SeriesCount[]> {
  const samples = await api.vector(`count by (${by.join(", ")}) (${selector})`);
  return samples
    .map((s) => ({ labels: s.metric, series: Number(s.value[1]) }))
    .sort((a, b) => b.series - a.series);
}

/** A fixed-width text table of counts, for the suite's printed report. */
export function formatCounts(title: string, by: readonly string[], rows: readonly SeriesCount[]): string {
  const label = (r: SeriesCount): string => by.map((k) => r.labels[k] ?? "(none)").join(" / ");
  const width = Math.max(by.join(" / ").length, ...rows.map((r) => label(r).length));
  const total = rows.reduce((sum, r) => sum + r.series, 0);
  return [
    title,
    `  ${by.join(" / ").padEnd(width)}  series`,
    ...rows.map((r) => `  ${label(r).padEnd(width)}  ${String(r.series).padStart(6)}`),
    `  ${"total".padEnd(width)}  ${String(total).padStart(6)}`,
  ].join("\n");
}
