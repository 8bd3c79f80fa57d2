import { JOB_NAMES } from "../components/config/defaults";
import { agg, call, catalog, eq, range, sel } from "../metrics";
import { CliError } from "./errors";
import type { PrometheusClient, ScrapeTarget } from "./prometheus";

export type ReportUnit = "state" | "cores" | "ratio" | "bytes" | "seconds" | "percent" | "count" | "gpus";

/** One question the report asks Prometheus, with the label columns worth showing. */
export interface ReportQuery {
  readonly id: string;
  readonly title: string;
  readonly expr: string;
  readonly labels: readonly string[];
  readonly unit: ReportUnit;
  /** Shown when the query returns nothing and its job has no target: which part of the stack would produce the data. */
  readonly whenEmpty: string;
  /** The scrape job the data comes from, so an empty answer can tell "target down" from "not scraped". */
  readonly job?: string;
}

export interface ReportRow {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ReportSection extends ReportQuery {
  readonly rows: readonly ReportRow[];
  readonly error?: string;
  /** Why there are no rows, when its job's targets are all down (rather than not scraped at all). */
  readonly down?: string;
}

/** Prometheus's lastError in words: a name that does not resolve is the usual reason on a new host. */
export function explainScrapeError(lastError: string): string {
  const dns = /lookup ([^\s:]+)(?: on [^:]+:\d+)?: (no such host|server misbehaving|i\/o timeout|[^"]*)/.exec(lastError);
  if (dns) return `DNS: ${dns[1]} does not resolve from Prometheus (${dns[2]})`;
  if (/connection refused/.test(lastError)) return "connection refused: nothing listens at the target's address";
  if (/context deadline exceeded|timeout/i.test(lastError)) return "the scrape timed out";
  return lastError || "no error given";
}

/** "target down (...)" when every target of the job is down; undefined when one is up or the job has none. */
export function jobDown(job: string, targets: readonly ScrapeTarget[]): string | undefined {
  const ofJob = targets.filter((t) => t.job === job);
  if (ofJob.length === 0 || ofJob.some((t) => t.health === "up")) return undefined;
  const reasons = [...new Set(ofJob.map((t) => explainScrapeError(t.lastError)))];
  return `${job} target down (${reasons.join("; ")})`;
}

export interface Report {
  readonly generatedAt: string;
  readonly prometheus: string;
  readonly window: string;
  readonly summary: {
    readonly targetsUp: number;
    readonly targetsTotal: number;
    readonly gpusReporting: number;
    readonly allocatedGpuEquivalents: number;
  };
  readonly sections: readonly ReportSection[];
}

/** The report's questions, built from the metric catalog so a renamed metric fails to compile. */
export function reportQueries(window: string): ReportQuery[] {
  const idle = range(catalog.node_cpu_seconds_total, window, { mode: eq("idle") });
  return [
    { id: "targets", title: "Targets up", expr: sel(catalog.up), labels: ["job", "instance"], unit: "state", whenEmpty: "Prometheus has no scrape targets" },
    {
      id: "process_cpu",
      title: "CPU used by each scraped process",
      expr: call("rate", range(catalog.process_cpu_seconds_total, window)),
      labels: ["job", "instance"],
      unit: "cores",
      whenEmpty: "no target exposes process_cpu_seconds_total",
    },
    {
      id: "host_cpu",
      title: "Host CPU busy",
      expr: `1 - ${agg("avg", call("rate", idle), ["instance"])}`,
      labels: ["instance"],
      unit: "ratio",
      whenEmpty: "node-exporter is not scraped",
      job: JOB_NAMES.nodeExporter,
    },
    {
      id: "process_memory",
      title: "Resident memory of each scraped process",
      expr: sel(catalog.process_resident_memory_bytes),
      labels: ["job", "instance"],
      unit: "bytes",
      whenEmpty: "no target exposes process_resident_memory_bytes",
    },
    {
      id: "host_memory",
      title: "Host memory used",
      expr: `1 - ${sel(catalog.node_memory_MemAvailable_bytes)} / ${sel(catalog.node_memory_MemTotal_bytes)}`,
      labels: ["instance"],
      unit: "ratio",
      whenEmpty: "node-exporter is not scraped",
      job: JOB_NAMES.nodeExporter,
    },
    {
      id: "scrape_duration",
      title: "Scrape duration",
      expr: sel(catalog.scrape_duration_seconds),
      labels: ["job", "instance"],
      unit: "seconds",
      whenEmpty: "Prometheus has no scrape targets",
    },
    {
      id: "gpu_utilisation",
      title: "GPU utilisation (DCGM)",
      expr: call("avg_over_time", range(catalog.DCGM_FI_DEV_GPU_UTIL, window)),
      labels: ["Hostname", "gpu", "modelName", "GPU_I_ID"],
      unit: "percent",
      whenEmpty: "DCGM exporter is not scraped (no NVIDIA GPU, or no dcgm-exporter job)",
      job: JOB_NAMES.dcgmExporter,
    },
    {
      id: "drm_gpu_utilisation",
      title: "GPU utilisation across DRM workers",
      expr: sel(catalog.drm_gpu_utilization_percent),
      labels: ["job"],
      unit: "percent",
      whenEmpty: "the exporter's DRM source is not enabled",
      job: JOB_NAMES.exporter,
    },
    {
      id: "allocations",
      title: "GPU allocations (DS01)",
      expr: sel(catalog.ds01_gpu_equivalents),
      labels: ["gpu_slot", "profile", "user", "container"],
      unit: "gpus",
      whenEmpty: "no DS01 allocations, or the exporter's DS01 source is not enabled",
      job: JOB_NAMES.exporter,
    },
    {
      id: "user_allocations",
      title: "GPU-equivalents per user (DS01)",
      expr: sel(catalog.ds01_user_gpu_equivalents),
      labels: ["user"],
      unit: "gpus",
      whenEmpty: "no DS01 allocations, or the exporter's DS01 source is not enabled",
      job: JOB_NAMES.exporter,
    },
  ];
}

function compareRows(a: ReportRow, b: ReportRow, labels: readonly string[]): number {
  for (const l of labels) {
    const c = (a.labels[l] ?? "").localeCompare(b.labels[l] ?? "", "en", { numeric: true });
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Asks Prometheus every report question at one instant. A question Prometheus refuses is kept
 * with its error; the report fails only when every question does (Prometheus is not there).
 */
export async function buildReport(
  client: PrometheusClient,
  opts: { window: string; at: Date; prometheus: string; progress: (line: string) => void; queries?: readonly ReportQuery[] },
): Promise<Report> {
  const queries = opts.queries ?? reportQueries(opts.window);
  const sections: ReportSection[] = [];
  const errors: CliError[] = [];
  // Prometheus first, before any progress line: an unreachable one fails the report at once.
  const targets = await client.targets();
  for (const [i, q] of queries.entries()) {
    opts.progress(`[${i + 1}/${queries.length}] ${q.title}`);
    try {
      const { data } = await client.query({ kind: "instant", expr: q.expr, time: opts.at });
      const rows =
        data.resultType === "vector"
          ? data.result.map((s) => ({
              labels: Object.fromEntries(q.labels.filter((l) => s.metric[l] !== undefined).map((l) => [l, s.metric[l] ?? ""])),
              value: Number(s.value[1]),
            }))
          : [];
      const down = rows.length === 0 && q.job ? jobDown(q.job, targets) : undefined;
      sections.push({ ...q, rows: rows.sort((a, b) => compareRows(a, b, q.labels)), ...(down ? { down } : {}) });
    } catch (err: unknown) {
      if (!(err instanceof CliError)) throw err;
      errors.push(err);
      sections.push({ ...q, rows: [], error: err.message });
    }
  }
  if (errors.length === queries.length && errors[0]) throw errors[0];
  const rowsOf = (id: string): readonly ReportRow[] => sections.find((s) => s.id === id)?.rows ?? [];
  return {
    generatedAt: opts.at.toISOString(),
    prometheus: opts.prometheus,
    window: opts.window,
    summary: {
      targetsUp: rowsOf("targets").filter((r) => r.value === 1).length,
      targetsTotal: rowsOf("targets").length,
      gpusReporting: rowsOf("gpu_utilisation").length,
      allocatedGpuEquivalents: Math.round(rowsOf("allocations").reduce((sum, r) => sum + r.value, 0) * 1000) / 1000,
    },
    sections,
  };
}

export function formatValue(value: number, unit: ReportUnit): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case "state":
      return value === 1 ? "up" : "DOWN";
    case "cores":
      return `${value.toFixed(3)} cores`;
    case "ratio":
      return `${(value * 100).toFixed(1)}%`;
    case "percent":
      return `${value.toFixed(1)}%`;
    case "bytes":
      return value >= 1024 ** 3 ? `${(value / 1024 ** 3).toFixed(2)} GiB` : `${(value / 1024 ** 2).toFixed(1)} MiB`;
    case "seconds":
      return `${(value * 1000).toFixed(1)} ms`;
    case "gpus":
      return `${Number(value.toFixed(3))} GPU`;
    case "count":
      return String(value);
  }
}

const mdCell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function reportMarkdown(report: Report): string {
  const s = report.summary;
  // Summary lines only for questions this report asked (a services report asks no DCGM or DS01 ones).
  const asked = (id: string): boolean => report.sections.some((section) => section.id === id);
  const lines = [
    "# Monitoring report",
    "",
    `Generated ${report.generatedAt} from ${report.prometheus}; rates over ${report.window}.`,
    "",
    `- Targets up: ${s.targetsUp} of ${s.targetsTotal}`,
    ...(asked("gpu_utilisation") ? [`- GPUs reporting utilisation: ${s.gpusReporting}`] : []),
    ...(asked("allocations") ? [`- GPU-equivalents allocated (DS01): ${s.allocatedGpuEquivalents}`] : []),
    "",
  ];
  for (const section of report.sections) {
    lines.push(`## ${section.title}`, "", `\`${section.expr}\``, "");
    if (section.error) {
      lines.push(`Query failed: ${mdCell(section.error)}`, "");
      continue;
    }
    if (section.rows.length === 0) {
      lines.push(`No data: ${section.down ?? section.whenEmpty}.`, "");
      continue;
    }
    const cols = section.labels.filter((l) => section.rows.some((r) => r.labels[l] !== undefined));
    lines.push(`| ${[...cols, "value"].join(" | ")} |`, `|${[...cols, "value"].map(() => " --- ").join("|")}|`);
    for (const row of section.rows) {
      lines.push(`| ${[...cols.map((c) => mdCell(row.labels[c] ?? "")), formatValue(row.value, section.unit)].join(" | ")} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

export function reportJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
