import type { LabelValues, Registry } from "prom-client";
import { slurm, type MetricDef } from "../../metrics";
import type { Collector } from "../core/collector";
import type { Source } from "../core/source";
import { createPoller, type Poller } from "../core/poller";
import { sourceTracker, type SourceTracker } from "../core/tracker";
import { SeriesGauge } from "../ds01/series-gauge";
import { discover, targetCounts, type MonitoringTarget, type SdGroup } from "./discovery";
import type { SlurmJob, SlurmNode } from "./model";
import type { SlurmPoll } from "./source";

export const DEFAULT_SLURM_INTERVAL_MS = 15_000;

export interface SlurmCollectorOptions {
  readonly source: Source<SlurmPoll>;
  readonly intervalMs?: number;
  /** Bound on one poll as the tracker enforces it (the commands have their own, shorter one). */
  readonly timeoutMs?: number;
  readonly targets?: readonly MonitoringTarget[];
}

/** The collector plus what the HTTP service discovery endpoint reads. */
export interface SlurmCollector extends Collector {
  /**
   * The discovery answer for one scrape job (all when undefined) from the last poll, or the
   * reason there is none (the source has not answered yet, or its last poll failed).
   */
  discovery(scrapeJob?: string): { groups: SdGroup[] } | { error: string };
}

type Labels<M> = M extends MetricDef<string, infer L> ? L : never;
type Row<M> = { labels: LabelValues<Labels<M> & string>; value: number };

function seriesGauge<M extends MetricDef>(def: M): SeriesGauge<Labels<M> & string> {
  return new SeriesGauge({ name: def.name, help: def.help, labelNames: [...def.labels] as (Labels<M> & string)[], registers: [] });
}

function slurmMetrics() {
  return {
    nodeState: seriesGauge(slurm.slurm_node_state),
    nodes: seriesGauge(slurm.slurm_nodes),
    nodeCpus: seriesGauge(slurm.slurm_node_cpus),
    nodeGpus: seriesGauge(slurm.slurm_node_gpus),
    partitionNodes: seriesGauge(slurm.slurm_partition_nodes),
    partitionCpus: seriesGauge(slurm.slurm_partition_cpus),
    partitionGpus: seriesGauge(slurm.slurm_partition_gpus),
    jobs: seriesGauge(slurm.slurm_jobs),
    pending: seriesGauge(slurm.slurm_jobs_pending),
    pendingGpus: seriesGauge(slurm.slurm_jobs_pending_gpus),
    pendingGpuAge: seriesGauge(slurm.slurm_gpu_job_pending_max_seconds),
    jobGpus: seriesGauge(slurm.slurm_job_gpus),
    discovered: seriesGauge(slurm.slurm_discovered_targets),
    commandDuration: seriesGauge(slurm.slurm_command_duration_seconds),
  };
}
type SlurmMetrics = ReturnType<typeof slurmMetrics>;

/** Counts keyed by a tuple of label values, in first-seen order. */
class Tally<K extends string> {
  private readonly rows = new Map<string, { labels: Record<K, string>; value: number }>();
  add(labels: Record<K, string>, value = 1): void {
    const key = JSON.stringify(labels);
    const row = this.rows.get(key);
    if (row) row.value += value;
    else this.rows.set(key, { labels, value });
  }
  max(labels: Record<K, string>, value: number): void {
    const key = JSON.stringify(labels);
    const row = this.rows.get(key);
    if (!row) this.rows.set(key, { labels, value });
    else if (value > row.value) row.value = value;
  }
  list(): { labels: Record<K, string>; value: number }[] {
    return [...this.rows.values()];
  }
}

const cpuRows = (n: SlurmNode) => [
  ["allocated", n.cpus.allocated],
  ["idle", n.cpus.idle],
  ["total", n.cpus.total],
] as const;
const gpuRows = (n: SlurmNode) => [
  ["allocated", n.gpus.allocated],
  ["idle", Math.max(0, n.gpus.total - n.gpus.allocated)],
  ["total", n.gpus.total],
] as const;

function applyNodes(m: SlurmMetrics, nodes: readonly SlurmNode[]): void {
  const byState = new Tally<"state">();
  const partNodes = new Tally<"partition" | "state">();
  const partCpus = new Tally<"partition" | "state">();
  const partGpus = new Tally<"partition" | "state">();
  const nodeCpus: Row<typeof slurm.slurm_node_cpus>[] = [];
  const nodeGpus: Row<typeof slurm.slurm_node_gpus>[] = [];
  for (const n of nodes) {
    byState.add({ state: n.state });
    for (const [state, value] of cpuRows(n)) nodeCpus.push({ labels: { node: n.name, state }, value });
    for (const [state, value] of gpuRows(n)) nodeGpus.push({ labels: { node: n.name, state }, value });
    for (const partition of n.partitions) {
      partNodes.add({ partition, state: n.state });
      for (const [state, value] of cpuRows(n)) partCpus.add({ partition, state }, value);
      for (const [state, value] of gpuRows(n)) partGpus.add({ partition, state }, value);
    }
  }
  m.nodeState.replace(nodes.map((n) => ({ labels: { node: n.name, state: n.state }, value: 1 })));
  m.nodes.replace(byState.list());
  m.nodeCpus.replace(nodeCpus);
  m.nodeGpus.replace(nodeGpus);
  m.partitionNodes.replace(partNodes.list());
  m.partitionCpus.replace(partCpus.list());
  m.partitionGpus.replace(partGpus.list());
}

function applyJobs(m: SlurmMetrics, jobs: readonly SlurmJob[], now: number): void {
  const byState = new Tally<"state" | "partition" | "user" | "account">();
  const pending = new Tally<"partition" | "reason">();
  const pendingGpus = new Tally<"partition">();
  const pendingAge = new Tally<"partition">();
  const jobGpus: Row<typeof slurm.slurm_job_gpus>[] = [];
  for (const j of jobs) {
    byState.add({ state: j.state, partition: j.partition, user: j.user, account: j.account }, j.count);
    if (j.state === "pending") {
      pending.add({ partition: j.partition, reason: j.reason }, j.count);
      if (j.gpus > 0) {
        pendingGpus.add({ partition: j.partition }, j.gpus * j.count);
        pendingAge.max({ partition: j.partition }, j.submitTime !== undefined ? Math.max(0, now - j.submitTime) : 0);
      }
    } else if (j.state === "running" && j.gpus > 0) {
      jobGpus.push({ labels: { job_id: j.id, job_name: j.name, user: j.user, account: j.account, partition: j.partition }, value: j.gpus });
    }
  }
  m.jobs.replace(byState.list());
  m.pending.replace(pending.list());
  m.pendingGpus.replace(pendingGpus.list());
  m.pendingGpuAge.replace(pendingAge.list());
  m.jobGpus.replace(jobGpus);
}

/**
 * Publishes a SLURM cluster's nodes, partitions, queue and GPUs held by jobs, polled in the
 * background every interval, and keeps the discovery answer of the monitoring targets. The
 * slurm_* metrics appear with the first good poll (a cluster that never answered shows as
 * ds01_exporter_source_up{source="slurm"} 0, not as zeros); a failed poll keeps the last good
 * values and makes discovery answer with an error, so Prometheus keeps its last target list.
 */
export function createSlurmCollector(options: SlurmCollectorOptions): SlurmCollector {
  const intervalMs = options.intervalMs ?? DEFAULT_SLURM_INTERVAL_MS;
  const timeoutMs = options.timeoutMs ?? Math.min(intervalMs, 30_000);
  const targets = options.targets ?? [];
  const metrics = slurmMetrics();
  let poller: Poller | undefined;
  let tracker: SourceTracker | undefined;
  let last: SlurmPoll | undefined;

  return {
    name: "slurm",
    register(registry: Registry): void {
      let registered = false;
      tracker = sourceTracker(registry);
      poller = createPoller({
        source: options.source,
        tracker,
        intervalMs,
        timeoutMs,
        apply: (poll) => {
          applyNodes(metrics, poll.nodes);
          applyJobs(metrics, poll.jobs, poll.takenAt);
          metrics.discovered.replace([...targetCounts(poll, targets)].map(([scrape_job, value]) => ({ labels: { scrape_job }, value })));
          metrics.commandDuration.replace(Object.entries(poll.commandMs).map(([command, ms]) => ({ labels: { command }, value: ms / 1000 })));
          last = poll;
          if (!registered) {
            for (const g of Object.values(metrics) as SeriesGauge<string>[]) registry.registerMetric(g);
            registered = true;
          }
        },
      });
    },
    refresh(): Promise<void> {
      return poller?.start() ?? Promise.resolve();
    },
    discovery(scrapeJob?: string) {
      const status = tracker?.status(options.source.name);
      if (!last || !status?.up) return { error: status?.lastError ?? "the SLURM source has not been read yet" };
      return { groups: discover(last, targets, scrapeJob) };
    },
    async close(): Promise<void> {
      poller?.stop();
      await options.source.close();
    },
  };
}
