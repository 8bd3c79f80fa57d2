import { renderDcgmCounters } from "../../metrics/dcgm-counters";
import type { StackConfig } from "../config";
import { dockerAddressing, type Addressing } from "./addressing";
import { hostExporterArgs } from "./exporterArgs";
import { renderGrafanaDashboardProvider, renderGrafanaDatasources } from "./grafana";
import { dockerScrapeJobs, renderPrometheusConfig, type PrometheusRenderOptions, type ScrapeConfig } from "./prometheus";
import { alertmanagerConfigFor, dashboardsFor, ruleFilesFor } from "./sources";

/** One generated file, at a path relative to the bundle root (DS01's monitoring/ layout). */
export interface BundleFile {
  readonly path: string;
  readonly content: string;
}

export interface BundleOptions {
  /** How services reach each other; default: by container name on the stack's Docker network. */
  readonly addressing?: Addressing;
  /** Scrape jobs; default: dockerScrapeJobs(cfg, addressing). The Kubernetes platform passes its own. */
  readonly scrapeJobs?: readonly ScrapeConfig[];
  readonly prometheus?: Omit<PrometheusRenderOptions, "ruleFiles">;
  /** Where Grafana finds the dashboard files; default: the path in Grafana's container. */
  readonly grafanaDashboardsDir?: string;
}

export const BUNDLE_PATHS = {
  prometheusConfig: "prometheus/prometheus.yml",
  prometheusRules: "prometheus/rules",
  alertmanagerConfig: "alertmanager/alertmanager.yml",
  grafanaDatasources: "grafana/provisioning/datasources/datasources.yml",
  grafanaDashboardProvider: "grafana/provisioning/dashboards/default.yml",
  grafanaDashboards: "grafana/provisioning/dashboards/dashboards",
  hostExporterArgs: "exporter/exporter.args",
  dcgmCounters: "dcgm-exporter/gpu-monitoring-counters.csv",
} as const;

/**
 * Every config file a stack deploys, for the enabled components, laid out like DS01's monitoring
 * folder: prometheus/, alertmanager/, grafana/provisioning/, and dcgm-exporter/ for the exporter's
 * counter list. Pure; sorted by path.
 */
export function renderBundle(cfg: StackConfig, options: BundleOptions = {}): BundleFile[] {
  const addressing = options.addressing ?? dockerAddressing(cfg);
  const on = cfg.components;
  const files: BundleFile[] = [];
  if (on.prometheus) {
    const rules = ruleFilesFor(cfg);
    const jobs = options.scrapeJobs ?? dockerScrapeJobs(cfg, addressing);
    const alertmanagerTargets = options.prometheus?.alertmanagerTargets ?? (on.alertmanager ? [addressing.target("alertmanager")] : []);
    files.push({
      path: BUNDLE_PATHS.prometheusConfig,
      content: renderPrometheusConfig(cfg, jobs, { ...options.prometheus, alertmanagerTargets, ruleFiles: rules.map((r) => r.fileName) }),
    });
    for (const r of rules) files.push({ path: `${BUNDLE_PATHS.prometheusRules}/${r.fileName}`, content: r.content });
  }
  if (on.alertmanager) files.push({ path: BUNDLE_PATHS.alertmanagerConfig, content: alertmanagerConfigFor(cfg).yaml });
  if (on.grafana) {
    files.push({ path: BUNDLE_PATHS.grafanaDatasources, content: renderGrafanaDatasources(cfg, addressing) });
    files.push({ path: BUNDLE_PATHS.grafanaDashboardProvider, content: renderGrafanaDashboardProvider(options.grafanaDashboardsDir) });
    for (const d of dashboardsFor(cfg)) files.push({ path: `${BUNDLE_PATHS.grafanaDashboards}/${d.fileName}`, content: d.json });
  }
  if (on.dcgmExporter && cfg.gpu && !cfg.gpu.collectors) {
    // The exporter's counter list: every DCGM field the rules and dashboards read (a user's own list replaces it).
    files.push({ path: BUNDLE_PATHS.dcgmCounters, content: renderDcgmCounters() });
  }
  if (on.exporter && cfg.exporter.run === "host" && cfg.slurm.enabled) {
    // The host-run exporter is the operator's to start: its flags, one a line, for the systemd unit.
    files.push({ path: BUNDLE_PATHS.hostExporterArgs, content: `${hostExporterArgs(cfg).join("\n")}\n` });
  }
  const paths = new Set<string>();
  for (const f of files) {
    if (paths.has(f.path)) throw new Error(`two generated files share the path ${f.path}`);
    paths.add(f.path);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export { filesUnder } from "./files";
