import { readFileSync } from "node:fs";
import { agg, catalog, sel } from "../metrics";
import type { PrometheusClient } from "./prometheus";
import { formatValue, type Report } from "./report";

/** A chart of the HTML report: one line per series over the report's range. */
export interface ReportChart {
  readonly id: string;
  readonly title: string;
  readonly expr: string;
  /** Label names whose values name a series in the legend. */
  readonly seriesLabels: readonly string[];
  readonly unit: string;
  readonly whenEmpty: string;
}

export interface ChartData extends ReportChart {
  /** Shared time axis in Unix seconds. */
  readonly times: readonly number[];
  readonly series: readonly { readonly name: string; readonly values: readonly (number | null)[] }[];
  readonly error?: string;
}

/** The charts: GPU utilisation per GPU and allocation per user, built from the metric catalog. */
export function reportCharts(): ReportChart[] {
  return [
    {
      id: "gpu_utilisation",
      title: "GPU utilisation per GPU (DCGM)",
      expr: agg("avg", sel(catalog.DCGM_FI_DEV_GPU_UTIL), ["Hostname", "gpu"]),
      seriesLabels: ["Hostname", "gpu"],
      unit: "%",
      whenEmpty: "no DCGM_FI_DEV_GPU_UTIL in the range (DCGM exporter not scraped)",
    },
    {
      id: "user_allocations",
      title: "GPU-equivalents allocated per user (DS01)",
      expr: agg("sum", sel(catalog.ds01_user_gpu_equivalents), ["user"]),
      seriesLabels: ["user"],
      unit: "GPU",
      whenEmpty: "no DS01 allocations in the range",
    },
  ];
}

const natural = new Intl.Collator("en", { numeric: true });

/** Runs each chart's range query; a chart Prometheus refuses keeps its error and the page is still written. */
export async function chartData(client: PrometheusClient, opts: { start: Date; end: Date; points: number }): Promise<ChartData[]> {
  const stepSeconds = Math.max(1, Math.ceil((opts.end.getTime() - opts.start.getTime()) / 1000 / opts.points));
  const out: ChartData[] = [];
  for (const chart of reportCharts()) {
    try {
      const { data } = await client.query({ kind: "range", expr: chart.expr, start: opts.start, end: opts.end, stepSeconds });
      const matrix = data.resultType === "matrix" ? data.result : [];
      const times = [...new Set(matrix.flatMap((s) => s.values.map(([t]) => t)))].sort((a, b) => a - b);
      const index = new Map(times.map((t, i) => [t, i]));
      const series = matrix
        .map((s) => {
          const values: (number | null)[] = times.map(() => null);
          for (const [t, v] of s.values) values[index.get(t) ?? 0] = Number(v);
          const name = chart.seriesLabels.map((l) => (l === "gpu" ? `GPU ${s.metric[l] ?? "?"}` : s.metric[l] ?? "")).filter((x) => x !== "").join(" ");
          return { name: name || "(no labels)", values };
        })
        .sort((a, b) => natural.compare(a.name, b.name));
      out.push({ ...chart, times, series });
    } catch (err: unknown) {
      out.push({ ...chart, times: [], series: [], error: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

/** JSON safe inside a <script> element: no "</script>" or "<!--" can be formed. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, "\\u003c");

/** uPlot's browser build and stylesheet, read from the installed package so the page needs no network. */
function uplotAssets(): { js: string; css: string } {
  const read = (file: string): string => readFileSync(require.resolve(`uplot/dist/${file}`), "utf8");
  return { js: read("uPlot.iife.min.js"), css: read("uPlot.min.css") };
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** Draws every chart with uPlot from the embedded data; runs in the reader's browser. */
const DRAW_SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById("chart-data").textContent);
  var palette = ${JSON.stringify(PALETTE)};
  charts.forEach(function (c) {
    var el = document.getElementById("chart-" + c.id);
    if (!el || c.series.length === 0) return;
    var opts = {
      width: Math.min(960, el.clientWidth || 960),
      height: 320,
      scales: { x: { time: true } },
      axes: [{}, { label: c.unit, size: 60 }],
      series: [{}].concat(c.series.map(function (s, i) {
        return { label: s.name, stroke: palette[i % palette.length], width: 1.5, spanGaps: false };
      })),
    };
    new uPlot(opts, [c.times].concat(c.series.map(function (s) { return s.values; })), el);
  });
})();
`;

function sectionTables(report: Report): string {
  return report.sections
    .map((section) => {
      const head = `<h2>${escapeHtml(section.title)}</h2>\n<p><code>${escapeHtml(section.expr)}</code></p>`;
      if (section.error) return `${head}\n<p class="empty">Query failed: ${escapeHtml(section.error)}</p>`;
      if (section.rows.length === 0) return `${head}\n<p class="empty">No data: ${escapeHtml(section.down ?? section.whenEmpty)}.</p>`;
      const cols = section.labels.filter((l) => section.rows.some((r) => r.labels[l] !== undefined));
      const header = [...cols, "value"].map((c) => `<th>${escapeHtml(c)}</th>`).join("");
      const rows = section.rows
        .map((r) => `<tr>${[...cols.map((c) => r.labels[c] ?? ""), formatValue(r.value, section.unit)].map((v) => `<td>${escapeHtml(v)}</td>`).join("")}</tr>`)
        .join("\n");
      return `${head}\n<table><thead><tr>${header}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
    })
    .join("\n");
}

/**
 * The report as one self-contained HTML page: summary, a chart per ReportChart drawn with uPlot
 * (inlined, so the page opens anywhere without Grafana or a network), and the report's tables.
 */
export function reportHtml(report: Report, charts: readonly ChartData[], range: { start: Date; end: Date }): string {
  const { js, css } = uplotAssets();
  const s = report.summary;
  const chartBlocks = charts
    .map((c) => {
      const body = c.error
        ? `<p class="empty">Query failed: ${escapeHtml(c.error)}</p>`
        : c.series.length === 0
          ? `<p class="empty">No data: ${escapeHtml(c.whenEmpty)}.</p>`
          : `<div class="chart" id="chart-${escapeHtml(c.id)}"></div>`;
      return `<section><h2>${escapeHtml(c.title)}</h2>\n<p><code>${escapeHtml(c.expr)}</code></p>\n${body}</section>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Monitoring report ${escapeHtml(report.generatedAt)}</title>
<style>${css}
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 1rem; } th, td { border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: left; }
code { font-size: 0.85em; color: #555; } .empty { color: #a15c00; } .chart { min-height: 340px; }
</style>
</head>
<body>
<h1>Monitoring report</h1>
<p>Generated ${escapeHtml(report.generatedAt)} from ${escapeHtml(report.prometheus)}; rates over ${escapeHtml(report.window)}; charts from ${escapeHtml(range.start.toISOString())} to ${escapeHtml(range.end.toISOString())}.</p>
<ul>
<li>Targets up: ${s.targetsUp} of ${s.targetsTotal}</li>
<li>GPUs reporting utilisation: ${s.gpusReporting}</li>
<li>GPU-equivalents allocated (DS01): ${s.allocatedGpuEquivalents}</li>
</ul>
${chartBlocks}
${sectionTables(report)}
<script type="application/json" id="chart-data">${scriptJson(charts)}</script>
<script>${js}</script>
<script>${DRAW_SCRIPT}</script>
</body>
</html>
`;
}
