import type { StackConfig } from "../config/resolve";
import type { ScrapeDescriptor } from "../services/descriptor";
import { registeredServices } from "../services/registry";
import { dockerAddressing, type Addressing } from "./addressing";
import { toYaml } from "./yaml";

/**
 * prometheus.yml as data, in Prometheus's own key names so it is written out unchanged. Only the
 * fields the stack uses are typed; a platform that needs more passes them through `extra`.
 */
export interface RelabelConfig {
  readonly source_labels?: readonly string[];
  readonly separator?: string;
  readonly regex?: string;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?: "replace" | "keep" | "drop" | "labelmap" | "labeldrop" | "labelkeep" | "hashmod";
  readonly modulus?: number;
}

export interface StaticConfig {
  readonly targets: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

export interface FileSdConfig {
  readonly files: readonly string[];
  readonly refresh_interval?: string;
}

export interface ScrapeConfig {
  readonly job_name: string;
  readonly scrape_interval?: string;
  readonly scrape_timeout?: string;
  readonly metrics_path?: string;
  readonly scheme?: "http" | "https";
  readonly honor_labels?: boolean;
  readonly static_configs?: readonly StaticConfig[];
  readonly file_sd_configs?: readonly FileSdConfig[];
  readonly http_sd_configs?: readonly { readonly url: string; readonly refresh_interval?: string }[];
  /**
   * Kubernetes discovery, in Prometheus's shape (the Kubernetes platform builds these). Debian's
   * promtool 2.42 is built without it, so only Prometheus itself can check these jobs.
   */
  readonly kubernetes_sd_configs?: readonly object[];
  readonly dns_sd_configs?: readonly { readonly names: readonly string[]; readonly type?: "A" | "AAAA" | "SRV" | "MX"; readonly port?: number; readonly refresh_interval?: string }[];
  readonly relabel_configs?: readonly RelabelConfig[];
  readonly metric_relabel_configs?: readonly RelabelConfig[];
  readonly authorization?: { readonly type?: string; readonly credentials_file?: string };
  readonly tls_config?: { readonly ca_file?: string; readonly server_name?: string; readonly insecure_skip_verify?: boolean };
}

/** Where the config lives in the Prometheus container; rule and file_sd paths are relative to it. */
export const PROMETHEUS_CONFIG_DIR = "/etc/prometheus";
export const PROMETHEUS_RULES_DIR = "rules";
export const PROMETHEUS_FILE_SD_DIR = "file_sd";

const UNITS_MS: Readonly<Record<string, number>> = { y: 31_536_000_000, w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds of a Prometheus duration (already validated by the config schema). */
export function durationMs(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|y|w|d|h|m|s)/g)) total += Number(m[1]) * (UNITS_MS[m[2]!] ?? 0);
  return total;
}

/** Scrape timeout: 10s, or the interval when that is shorter (Prometheus rejects timeout > interval). */
export function scrapeTimeout(interval: string): string {
  return durationMs(interval) < 10_000 ? interval : "10s";
}

function staticJob(job: string, interval: string, targets: readonly string[], more: Partial<ScrapeConfig> = {}): ScrapeConfig {
  return {
    job_name: job,
    scrape_interval: interval,
    scrape_timeout: scrapeTimeout(interval),
    ...more,
    static_configs: [{ targets }],
  };
}

/**
 * The stack's own jobs with static targets: one per enabled service that is scraped, in
 * registration order. A service that is off may have a stand-in serving its job (a simulating
 * exporter's DCGM-compatible endpoint takes `dcgm-exporter`), so dashboards and alerts see the
 * same job either way.
 */
export function stackScrapeJobs(cfg: StackConfig, addressing: Addressing): ScrapeConfig[] {
  const jobs: ScrapeConfig[] = [];
  for (const d of registeredServices()) {
    if (!d.scrape) continue;
    if (cfg.components[d.name]) {
      jobs.push(serviceStaticJob(cfg, d.name, d.scrape, [addressing.target(d.name)]));
      continue;
    }
    const standIn = d.scrape.standIn?.(cfg);
    if (standIn) jobs.push(serviceStaticJob(cfg, d.name, d.scrape, [addressing.portTarget(standIn.service, standIn)]));
  }
  return jobs;
}

/** The configured scrape interval of a service's job (`scrapeIntervals.<service>`), else its descriptor's. */
export function serviceScrapeInterval(cfg: StackConfig, service: string, scrape: ScrapeDescriptor): string {
  return cfg.scrapeIntervals[service] ?? scrape.interval;
}

/** A service's job with static targets, as its descriptor describes it. */
export function serviceStaticJob(cfg: StackConfig, service: string, scrape: ScrapeDescriptor, targets: readonly string[]): ScrapeConfig {
  return staticJob(scrape.job, serviceScrapeInterval(cfg, service, scrape), targets, {
    ...(scrape.metricsPath ? { metrics_path: scrape.metricsPath } : {}),
    ...(scrape.metricRelabels ? { metric_relabel_configs: [...scrape.metricRelabels] } : {}),
  });
}

/** Jobs the user adds: static `host:port` lists and file-based discovery. Same on every platform. */
export function extraScrapeJobs(cfg: StackConfig): ScrapeConfig[] {
  const statics = cfg.extraScrapeTargets.map(
    (t): ScrapeConfig => ({
      job_name: t.job,
      scrape_interval: t.scrapeInterval,
      scrape_timeout: scrapeTimeout(t.scrapeInterval),
      metrics_path: t.metricsPath,
      scheme: t.scheme,
      static_configs: [Object.keys(t.labels).length > 0 ? { targets: t.targets, labels: t.labels } : { targets: t.targets }],
    }),
  );
  const fileSd = cfg.fileSd.jobs.map(
    (j): ScrapeConfig => ({
      job_name: j.job,
      scrape_interval: j.scrapeInterval,
      scrape_timeout: scrapeTimeout(j.scrapeInterval),
      file_sd_configs: [{ files: j.files.map((f) => `${PROMETHEUS_FILE_SD_DIR}/${f}`), refresh_interval: j.refreshInterval }],
    }),
  );
  return [...statics, ...fileSd];
}

/** Path of the exporter's SLURM service discovery endpoint (the exporter's SLURM_SD_PATH). */
export const SLURM_SD_PATH = "/slurm/targets";

/**
 * One http_sd_configs job per monitoring target group (scrape job): Prometheus asks the
 * exporter which nodes the group's SLURM jobs run on, and the discovered __meta_slurm_* labels
 * become slurm_job_id, slurm_job_name, slurm_user, slurm_account, slurm_partition and slurm_node.
 */
export function slurmScrapeJobs(cfg: StackConfig, addressing: Addressing): ScrapeConfig[] {
  if (!cfg.slurm.enabled || !cfg.components.exporter) return [];
  const groups = new Map<string, (typeof cfg.slurm.monitoringTargets)[number]>();
  for (const t of cfg.slurm.monitoringTargets) if (!groups.has(t.job)) groups.set(t.job, t);
  return [...groups.values()].map(
    (t): ScrapeConfig => ({
      job_name: t.job,
      scrape_interval: t.scrapeInterval,
      scrape_timeout: scrapeTimeout(t.scrapeInterval),
      metrics_path: t.metricsPath,
      http_sd_configs: [{ url: `http://${addressing.target("exporter")}${SLURM_SD_PATH}?job=${encodeURIComponent(t.job)}`, refresh_interval: cfg.slurm.discoveryRefreshInterval }],
      relabel_configs: [{ action: "labelmap", regex: "__meta_slurm_(.+)", replacement: "slurm_$1" }],
    }),
  );
}

/** Every job of a Docker stack (or the loopback processes, with loopbackAddressing). */
export function dockerScrapeJobs(cfg: StackConfig, addressing: Addressing = dockerAddressing(cfg)): ScrapeConfig[] {
  return [...stackScrapeJobs(cfg, addressing), ...extraScrapeJobs(cfg), ...slurmScrapeJobs(cfg, addressing)];
}

export interface PrometheusRenderOptions {
  /** Alertmanager `host:port`s; default: the stack's Alertmanager on the Docker network when it is on. */
  readonly alertmanagerTargets?: readonly string[];
  /** Rule file names under rules/ (relative to prometheus.yml, so promtool can check a copy anywhere). */
  readonly ruleFiles?: readonly string[];
  /** Added to the config's external labels (e.g. `replica` for HA pairs). */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** Top-level sections the platform adds as they are (e.g. `remote_write`). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** prometheus.yml from the stack config and the platform's scrape jobs. Pure; same input, same text. */
export function renderPrometheusConfig(cfg: StackConfig, jobs: readonly ScrapeConfig[], options: PrometheusRenderOptions = {}): string {
  const alertmanagers =
    options.alertmanagerTargets ?? (cfg.components.alertmanager ? [dockerAddressing(cfg).target("alertmanager")] : []);
  const externalLabels = { ...cfg.externalLabels, ...options.externalLabels };
  const doc: Record<string, unknown> = {
    global: {
      scrape_interval: cfg.scrapeIntervals.default,
      scrape_timeout: scrapeTimeout(cfg.scrapeIntervals.default),
      evaluation_interval: cfg.evaluationInterval,
      ...(Object.keys(externalLabels).length > 0 ? { external_labels: sortedRecord(externalLabels) } : {}),
    },
    ...(alertmanagers.length > 0 ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [...alertmanagers] }] }] } } : {}),
    ...(options.ruleFiles && options.ruleFiles.length > 0
      ? { rule_files: options.ruleFiles.map((f) => `${PROMETHEUS_RULES_DIR}/${f}`) }
      : {}),
    scrape_configs: jobs,
    ...options.extra,
  };
  return toYaml(doc, "Generated by gpu-monitoring from the stack config; edit the config, not this file.");
}

function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
}
