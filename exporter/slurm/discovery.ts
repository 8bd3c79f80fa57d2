import type { SlurmJob, SlurmNode, SlurmSnapshot } from "./model";

/**
 * Service discovery from SLURM jobs: each monitoring target names a scrape job, a port and how
 * to find the host: a SLURM job by name (a service's ID, e.g. `ollama_abc123`), a job by ID,
 * or a fixed host. The exporter answers Prometheus' HTTP service discovery with the node(s)
 * each running job is on; pending and ended jobs are listed nowhere.
 */
export type TargetSelector = { readonly kind: "job-name"; readonly value: string } | { readonly kind: "job-id"; readonly value: string } | { readonly kind: "host"; readonly value: string };

export interface MonitoringTarget {
  /** Prometheus scrape job the target belongs to. */
  readonly job: string;
  readonly port: number;
  readonly select: TargetSelector;
}

/** One entry of Prometheus' http_sd_configs answer. */
export interface SdGroup {
  readonly targets: string[];
  readonly labels: Record<string, string>;
}

const JOB_NAME = /^[a-zA-Z_][a-zA-Z0-9_-]{0,62}$/;
const KINDS = ["job-name", "job-id", "host"] as const;

/**
 * Parses `--slurm-target JOB:PORT:KIND=VALUE`, e.g. `ollama:11434:job-name=ollama_abc123`,
 * `trainer:8000:job-id=4242`, `node:9100:host=gpu-node-3`. Throws a message naming what is wrong.
 */
export function parseMonitoringTarget(spec: string): MonitoringTarget {
  const m = /^([^:]+):(\d{1,5}):([a-z-]+)=(.+)$/.exec(spec);
  const usage = "expected JOB:PORT:KIND=VALUE with KIND job-name, job-id or host (e.g. ollama:11434:job-name=ollama_abc123)";
  if (!m) throw new Error(`--slurm-target ${JSON.stringify(spec)}: ${usage}`);
  const [, job = "", portText = "", kind = "", value = ""] = m;
  if (!JOB_NAME.test(job)) throw new Error(`--slurm-target ${JSON.stringify(spec)}: scrape job ${JSON.stringify(job)} must be letters, digits, _ and -, starting with a letter or _`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new Error(`--slurm-target ${JSON.stringify(spec)}: port must be 1-65535`);
  if (!(KINDS as readonly string[]).includes(kind)) throw new Error(`--slurm-target ${JSON.stringify(spec)}: ${usage}`);
  if (kind === "job-id" && !/^\d+$/.test(value)) throw new Error(`--slurm-target ${JSON.stringify(spec)}: a job ID is a number`);
  if (/[\s,]/.test(value)) throw new Error(`--slurm-target ${JSON.stringify(spec)}: the value must not contain spaces or commas`);
  return { job, port, select: { kind: kind as TargetSelector["kind"], value } };
}

/** The flag form of a target, as the stack writes it into the exporter's arguments. */
export function formatMonitoringTarget(t: MonitoringTarget): string {
  return `${t.job}:${t.port}:${t.select.kind}=${t.select.value}`;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function jobLabels(job: SlurmJob, node: string): Record<string, string> {
  return {
    __meta_slurm_job_id: job.id,
    __meta_slurm_job_name: job.name,
    __meta_slurm_user: job.user,
    __meta_slurm_account: job.account,
    __meta_slurm_partition: job.partition,
    __meta_slurm_node: node,
  };
}

/**
 * The discovery answer for every target of `scrapeJob` (all targets when undefined), from one
 * snapshot. A job's target is its node's NodeAddr (the node name where none is set), so the
 * address Prometheus dials is the one SLURM itself uses to reach the node.
 */
export function discover(snapshot: SlurmSnapshot, targets: readonly MonitoringTarget[], scrapeJob?: string): SdGroup[] {
  const nodes = new Map<string, SlurmNode>(snapshot.nodes.map((n) => [n.name, n]));
  const running = snapshot.jobs.filter((j) => j.state === "running");
  const groups: SdGroup[] = [];
  for (const t of targets) {
    if (scrapeJob !== undefined && t.job !== scrapeJob) continue;
    if (t.select.kind === "host") {
      groups.push({ targets: [hostPort(t.select.value, t.port)], labels: { __meta_slurm_node: t.select.value } });
      continue;
    }
    const { kind, value } = t.select;
    for (const job of running.filter((j) => (kind === "job-id" ? j.id === value : j.name === value))) {
      for (const node of job.nodes) {
        groups.push({ targets: [hostPort(nodes.get(node)?.address ?? node, t.port)], labels: jobLabels(job, node) });
      }
    }
  }
  return groups;
}

/** Targets per scrape job, for slurm_discovered_targets (every configured job, 0 when none runs). */
export function targetCounts(snapshot: SlurmSnapshot, targets: readonly MonitoringTarget[]): Map<string, number> {
  const counts = new Map<string, number>(targets.map((t) => [t.job, 0]));
  for (const job of counts.keys()) counts.set(job, discover(snapshot, targets, job).length);
  return counts;
}
