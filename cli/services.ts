import { call, range, re, sel, slurm, stack, SLURM_TARGET_LABELS, type Matcher } from "../metrics";
import { CliError } from "./errors";
import type { ActiveTarget, PrometheusClient } from "./prometheus";
import type { ReportQuery } from "./report";

/**
 * Services found through SLURM: the scrape targets Prometheus discovered from the exporter's
 * /slurm/targets, each labelled with its SLURM job (slurm_job_id, slurm_job_name, slurm_user,
 * slurm_partition, slurm_node). A fixed-host monitoring target has slurm_node only.
 */
export interface MonitoredService {
  readonly scrapeJob: string;
  readonly jobId: string;
  readonly jobName: string;
  readonly user: string;
  readonly partition: string;
  readonly node: string;
  /** host:port Prometheus scrapes. */
  readonly instance: string;
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
  readonly lastScrapeSeconds: number;
}

export async function monitoredServices(client: PrometheusClient): Promise<MonitoredService[]> {
  const targets = await client.activeTargets();
  return targets
    .filter((t: ActiveTarget) => (t.labels.slurm_node ?? "") !== "")
    .map((t) => ({
      scrapeJob: t.labels.job ?? t.scrapePool,
      jobId: t.labels.slurm_job_id ?? "",
      jobName: t.labels.slurm_job_name ?? "",
      user: t.labels.slurm_user ?? "",
      partition: t.labels.slurm_partition ?? "",
      node: t.labels.slurm_node ?? "",
      instance: t.labels.instance ?? "",
      scrapeUrl: t.scrapeUrl,
      health: t.health,
      lastError: t.lastError,
      lastScrapeSeconds: t.lastScrapeDuration,
    }))
    .sort((a, b) => a.scrapeJob.localeCompare(b.scrapeJob) || a.jobId.localeCompare(b.jobId, "en", { numeric: true }) || a.instance.localeCompare(b.instance));
}

/** The services whose SLURM job name or job ID is `id` (the seed's "service ID"); an error naming the known ones when none is. */
export function servicesById(services: readonly MonitoredService[], id: string): MonitoredService[] {
  const found = services.filter((s) => s.jobName === id || s.jobId === id);
  if (found.length === 0) {
    const known = [...new Set(services.flatMap((s) => (s.jobId ? [`${s.jobName} (${s.jobId})`] : [])))];
    throw new CliError(
      `no monitored service has SLURM job name or ID ${JSON.stringify(id)}`,
      known.length ? `known services: ${known.join(", ")}` : "no service found through SLURM is being scraped: check that its job runs and that it is a monitoring target",
    );
  }
  return found;
}

/** Escapes a value for a PromQL regex matched in full. */
function literal(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The end-of-session report's questions about the monitored services (one service by job name or
 * ID, or all): up, CPU, memory, scrape duration, and the GPUs their jobs hold.
 */
export function serviceReportQueries(window: string, id?: string): ReportQuery[] {
  const target: Record<string, Matcher> = id === undefined ? { slurm_node: re(".+") } : { slurm_node: re(".+"), slurm_job_name: re(literal(id)) };
  const byId: Record<string, Matcher> = id === undefined ? { slurm_node: re(".+") } : { slurm_node: re(".+"), slurm_job_id: re(literal(id)) };
  // A service is one job name or one job ID; both are asked and the two answers unioned.
  const either = (f: (m: Record<string, Matcher>) => string): string => (id === undefined ? f(target) : `${f(target)} or ${f(byId)}`);
  const labels = ["job", "instance", ...SLURM_TARGET_LABELS.filter((l) => l !== "slurm_account")];
  const jobs = id === undefined ? {} : { job_name: re(literal(id)) };
  const jobsById = id === undefined ? undefined : { job_id: re(literal(id)) };
  return [
    { id: "targets", title: "Services up", expr: either((m) => sel(stack.up, m)), labels, unit: "state", whenEmpty: "no service found through SLURM is scraped" },
    {
      id: "process_cpu",
      title: "CPU used by each service",
      expr: either((m) => call("rate", range(stack.process_cpu_seconds_total, window, m))),
      labels,
      unit: "cores",
      whenEmpty: "the services expose no process_cpu_seconds_total",
    },
    {
      id: "process_memory",
      title: "Resident memory of each service",
      expr: either((m) => sel(stack.process_resident_memory_bytes, m)),
      labels,
      unit: "bytes",
      whenEmpty: "the services expose no process_resident_memory_bytes",
    },
    { id: "scrape_duration", title: "Scrape duration", expr: either((m) => sel(stack.scrape_duration_seconds, m)), labels, unit: "seconds", whenEmpty: "no service found through SLURM is scraped" },
    {
      id: "job_gpus",
      title: "GPUs held by the jobs (average over the window)",
      expr: jobsById
        ? `${call("avg_over_time", range(slurm.slurm_job_gpus, window, jobs))} or ${call("avg_over_time", range(slurm.slurm_job_gpus, window, jobsById))}`
        : call("avg_over_time", range(slurm.slurm_job_gpus, window)),
      labels: ["job_id", "job_name", "user", "account", "partition"],
      unit: "gpus",
      whenEmpty: "no running job holds GPUs, or the exporter's SLURM source is not scraped",
    },
  ];
}
