import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { StackConfig } from "../components/config";
import { BUNDLE_PATHS, type BundleFile } from "../components/render/bundle";
import { agg, call, catalog, eq, range, sel, type MetricDef, type MetricSource } from "../metrics";

/** A PromQL expression worth copying, with what it answers. */
export interface PromqlExample {
  readonly question: string;
  readonly expr: string;
}

/** Built from the catalog through the typed helpers, so they cannot name a metric or label that does not exist. */
export function promqlExamples(): PromqlExample[] {
  return [
    { question: "Which targets are down?", expr: `${sel(catalog.up)} == 0` },
    { question: "GPU utilisation per GPU (DCGM)", expr: agg("avg", sel(catalog.DCGM_FI_DEV_GPU_UTIL), ["Hostname", "gpu"]) },
    { question: "GPU utilisation over the last hour, per GPU", expr: call("avg_over_time", range(catalog.DCGM_FI_DEV_GPU_UTIL, "1h")) },
    { question: "GPU slots (full GPUs and MIG instances) allocated by DS01", expr: agg("count", sel(catalog.ds01_gpu_allocated)) },
    { question: "GPU-equivalents allocated per user", expr: agg("sum", sel(catalog.ds01_user_gpu_equivalents), ["user"]) },
    { question: "Containers holding GPUs outside DS01's control", expr: sel(catalog.ds01_unmanaged_gpu_count) },
    { question: "DRM tasks waiting for a worker", expr: sel(catalog.drm_pending_tasks) },
    { question: "DRM task throughput", expr: sel(catalog.drm_task_throughput_per_second) },
    { question: "Exporter sources failing to read", expr: `${sel(catalog.ds01_exporter_source_up)} == 0` },
    {
      question: "Host CPU busy, per host",
      expr: `1 - ${agg("avg", call("rate", range(catalog.node_cpu_seconds_total, "5m", { mode: eq("idle") })), ["instance"])}`,
    },
    { question: "Host memory used, per host", expr: `1 - ${sel(catalog.node_memory_MemAvailable_bytes)} / ${sel(catalog.node_memory_MemTotal_bytes)}` },
    { question: "Alerts firing now", expr: sel(catalog.ALERTS, { alertstate: eq("firing") }) },
  ];
}

interface RuleYaml {
  alert?: string;
  record?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFileYaml {
  groups?: { name?: string; rules?: RuleYaml[] }[];
}

export interface GuideAlert {
  readonly name: string;
  readonly severity: string;
  readonly for: string;
  readonly summary: string;
  readonly file: string;
}

export interface GuideRecording {
  readonly record: string;
  readonly expr: string;
}

/** The alerts and recording rules of the bundle's rule files, read back from what will be deployed. */
export function rulesInBundle(bundle: readonly BundleFile[]): { alerts: GuideAlert[]; recordings: GuideRecording[] } {
  const alerts: GuideAlert[] = [];
  const recordings: GuideRecording[] = [];
  for (const f of bundle.filter((b) => b.path.startsWith(`${BUNDLE_PATHS.prometheusRules}/`))) {
    const doc = parseYaml(f.content) as RuleFileYaml | null;
    for (const group of doc?.groups ?? []) {
      for (const rule of group.rules ?? []) {
        if (rule.alert) {
          alerts.push({
            name: rule.alert,
            severity: rule.labels?.severity ?? "",
            for: rule.for ?? "0s",
            summary: rule.annotations?.summary ?? rule.annotations?.description ?? "",
            file: f.path,
          });
        } else if (rule.record) {
          recordings.push({ record: rule.record, expr: rule.expr ?? "" });
        }
      }
    }
  }
  return { alerts, recordings };
}

/** The scrape_configs of the bundle's prometheus.yml, to paste into another Prometheus. */
export function scrapeConfigSnippet(bundle: readonly BundleFile[]): string | undefined {
  const prom = bundle.find((f) => f.path === BUNDLE_PATHS.prometheusConfig);
  if (!prom) return undefined;
  const doc = parseYaml(prom.content) as { scrape_configs?: unknown[] } | null;
  return stringifyYaml({ scrape_configs: doc?.scrape_configs ?? [] }, { lineWidth: 0 });
}

const SOURCE_TITLES: Readonly<Record<MetricSource, string>> = {
  ds01: "DS01 exporter (allocations)",
  exporter: "Exporter self-report",
  drm: "DRM coordinator",
  slurm: "SLURM cluster (exporter --slurm)",
  "kube-state-metrics": "kube-state-metrics (Kubernetes pods and nodes)",
  dcgm: "NVIDIA DCGM exporter",
  node: "node-exporter",
  cadvisor: "cAdvisor",
  prometheus: "Prometheus and every scrape",
  alertmanager: "Alertmanager",
  grafana: "Grafana",
  recording: "Recording rules",
};

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/**
 * The integration guide for one stack, in Markdown: where things are, the scrape config to give
 * another Prometheus, every metric of the catalog, every alert, and PromQL to start from.
 * Deterministic: no dates, everything in a fixed order.
 */
export function integrationGuide(stack: string, cfg: StackConfig, bundle: readonly BundleFile[], addressing: "container" | "loopback" = "container"): string {
  const { alerts, recordings } = rulesInBundle(bundle);
  const snippet = scrapeConfigSnippet(bundle);
  const enabled = Object.entries(cfg.components)
    .filter(([, on]) => on)
    .map(([name]) => name);
  const out: string[] = [
    `# gpu-monitoring integration guide: stack \`${stack}\``,
    "",
    `Rendered from \`Pulumi.${stack}.yaml\` by \`gpu-monitoring export\`, without Pulumi. Platform: ${cfg.platform}. Components: ${enabled.join(", ")}.`,
    "",
    "## Files",
    "",
    "| Path | What it is |",
    "| --- | --- |",
    ...bundle.map((f) => `| \`${f.path}\` | ${describePath(f.path)} |`),
    "",
    cfg.platform === "kubernetes"
      ? // Debian's promtool is built without Kubernetes service discovery and rejects kubernetes_sd_configs.
        "Check the rules with `promtool check rules prometheus/rules/*.yml` and Alertmanager's config with `amtool check-config alertmanager/alertmanager.yml`. `promtool check config prometheus/prometheus.yml` needs a promtool built with Kubernetes service discovery (Prometheus's own release builds; Debian's rejects `kubernetes_sd_configs`)."
      : "Check them with `promtool check config prometheus/prometheus.yml` and `amtool check-config alertmanager/alertmanager.yml`.",
    "",
  ];
  if (snippet) {
    out.push(
      "## Scrape config",
      "",
      "To scrape the same targets from a Prometheus of your own, add these jobs to its `scrape_configs`.",
      addressing === "loopback"
        ? "Targets are 127.0.0.1 with the configured ports (exported with `--addressing loopback`), for services run as processes on this host."
        : "Targets are the addresses the stack uses inside its own network: replace them with addresses your Prometheus can reach, or export with `--addressing loopback` for processes on one host.",
      "",
      "```yaml",
      snippet.trimEnd(),
      "```",
      "",
    );
  }
  out.push("## Alerts", "");
  if (alerts.length === 0) out.push("No alerting rules are rendered for this stack.", "");
  else {
    out.push("| Alert | Severity | For | Summary | Rule file |", "| --- | --- | --- | --- | --- |");
    for (const a of alerts) out.push(`| ${a.name} | ${a.severity} | ${a.for} | ${cell(a.summary)} | \`${a.file}\` |`);
    out.push("");
  }
  if (recordings.length > 0) {
    out.push("## Recorded series", "", "| Series | Expression |", "| --- | --- |");
    for (const r of recordings) out.push(`| \`${r.record}\` | \`${cell(r.expr.trim())}\` |`);
    out.push("");
  }
  out.push("## PromQL examples", "");
  for (const ex of promqlExamples()) out.push(`${ex.question}:`, "", "```promql", ex.expr, "```", "");
  out.push("## Metrics", "", "Every metric the stack's dashboards and rules use, by where it comes from.", "");
  const bySource = new Map<MetricSource, MetricDef[]>();
  for (const def of Object.values(catalog) as MetricDef[]) bySource.set(def.source, [...(bySource.get(def.source) ?? []), def]);
  for (const source of Object.keys(SOURCE_TITLES) as MetricSource[]) {
    const defs = (bySource.get(source) ?? []).slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (defs.length === 0) continue;
    out.push(`### ${SOURCE_TITLES[source]}`, "", "| Metric | Type | Labels | Help |", "| --- | --- | --- | --- |");
    for (const d of defs) out.push(`| \`${d.name}\` | ${d.type} | ${d.labels.join(", ")} | ${cell(d.help)} |`);
    out.push("");
  }
  return out.join("\n");
}

function describePath(path: string): string {
  if (path === BUNDLE_PATHS.prometheusConfig) return "Prometheus configuration";
  if (path.startsWith(`${BUNDLE_PATHS.prometheusRules}/`)) return "Prometheus rule file";
  if (path === BUNDLE_PATHS.alertmanagerConfig) return "Alertmanager configuration (receivers' secrets are read from files at run time)";
  if (path === BUNDLE_PATHS.grafanaDatasources) return "Grafana datasource provisioning";
  if (path === BUNDLE_PATHS.grafanaDashboardProvider) return "Grafana dashboard provider";
  if (path.startsWith(`${BUNDLE_PATHS.grafanaDashboards}/`)) return "Grafana dashboard";
  return "generated file";
}
