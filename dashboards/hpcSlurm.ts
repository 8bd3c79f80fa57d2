import { agg, exporterSelf, ne, re, sel, slurm, stack } from "../metrics";
import type { PanelLevels } from "../metrics/thresholds";
import type { DashboardDef } from "./kit/dashboard";
import {
  barGaugePanel,
  gaugePanel,
  NEUTRAL,
  rising,
  statPanel,
  tablePanel,
  timeseriesPanel,
  UP_DOWN_MAPPINGS,
  ZERO_BAD,
  type PanelDef,
} from "./kit/panels";
import { labelValuesVariable } from "./kit/variables";
import { UID } from "./uids";

const PARTITION = { partition: re("$partition") };
/** Node states in which a node takes no new work. */
const UNAVAILABLE = re("down.*|drain.*|fail.*");

const share = (part: string, whole: string): string => `100 * ${part} / ${whole}`;
const sumOf = (expr: string, by: readonly string[] = []): string => agg("sum", expr, by);

/**
 * Every panel here reads the exporter's SLURM source, which only a stack with `slurm.enabled`
 * has: on other stacks these panels are empty, and that is healthy.
 */
function slurmSection(section: DashboardDef["sections"][number]): DashboardDef["sections"][number] {
  return { ...section, panels: section.panels.map((p): PanelDef => ({ ...p, expectData: false })) };
}

export function hpcSlurm(levels: PanelLevels): DashboardDef {
  const pending = levels.slurmGpuJobPendingSeconds;
  const gpus = (state: string) => sumOf(sel(slurm.slurm_partition_gpus, { ...PARTITION, state }));
  const cpus = (state: string) => sumOf(sel(slurm.slurm_partition_cpus, { ...PARTITION, state }));
  return {
    uid: UID.hpcSlurm,
    title: "HPC cluster (SLURM)",
    description:
      "Who holds the cluster's GPUs and who waits for them? Nodes and partitions by state, CPUs and GPUs allocated, " +
      "GPUs per user and job, the queue with its pending reasons, and the services discovered from SLURM jobs.",
    tags: ["slurm", "hpc", "gpu"],
    related: [UID.nvidiaDcgm, UID.host, UID.stackHealth],
    variables: [
      labelValuesVariable("partition", slurm.slurm_partition_gpus, "partition", {
        label: "Partition",
        description: "Partitions to show.",
        multi: true,
        includeAll: true,
      }),
    ],
    sections: (
      [
        {
          title: "Cluster",
          collapsed: false,
          panels: [
            statPanel({
              title: "Nodes",
              description: "Nodes SLURM knows.",
              queries: [{ expr: sumOf(sel(slurm.slurm_nodes)), instant: true }],
              thresholds: NEUTRAL,
            }),
            statPanel({
              title: "Nodes down or drained",
              description: "Nodes that take no new jobs: down, drained, draining or failing.",
              queries: [{ expr: `${sumOf(sel(slurm.slurm_nodes, { state: UNAVAILABLE }))} or vector(0)`, instant: true }],
              thresholds: rising(levels.fixed.slurmNodesUnavailable.warn, levels.fixed.slurmNodesUnavailable.crit),
            }),
            gaugePanel({
              title: "GPUs allocated",
              description: "Share of the partitions' GPUs (gpu GRES) held by jobs.",
              queries: [{ expr: share(gpus("allocated"), gpus("total")), instant: true }],
              unit: "percent",
              min: 0,
              max: 100,
              thresholds: rising(levels.fixed.slurmAllocatedPercent.warn, levels.fixed.slurmAllocatedPercent.crit),
            }),
            gaugePanel({
              title: "CPUs allocated",
              description: "Share of the partitions' CPUs held by jobs.",
              queries: [{ expr: share(cpus("allocated"), cpus("total")), instant: true }],
              unit: "percent",
              min: 0,
              max: 100,
              thresholds: rising(levels.fixed.slurmAllocatedPercent.warn, levels.fixed.slurmAllocatedPercent.crit),
            }),
            statPanel({
              title: "Jobs running",
              description: "Jobs running in the selected partitions.",
              queries: [{ expr: `${sumOf(sel(slurm.slurm_jobs, { ...PARTITION, state: "running" }))} or vector(0)`, instant: true }],
              thresholds: NEUTRAL,
              sparkline: true,
            }),
            statPanel({
              title: "Jobs pending",
              description: "Jobs waiting in the selected partitions.",
              queries: [{ expr: `${sumOf(sel(slurm.slurm_jobs, { ...PARTITION, state: "pending" }))} or vector(0)`, instant: true }],
              thresholds: NEUTRAL,
              sparkline: true,
            }),
            statPanel({
              title: "SLURM source",
              description: "Whether the exporter's last sinfo/squeue poll succeeded; when down, every panel here shows the last good poll.",
              queries: [{ expr: sel(exporterSelf.ds01_exporter_source_up, { source: "slurm" }), instant: true }],
              mappings: UP_DOWN_MAPPINGS,
              thresholds: ZERO_BAD,
            }),
          ],
        },
        {
          title: "Partitions and nodes",
          collapsed: false,
          panels: [
            timeseriesPanel({
              title: "GPUs allocated per partition",
              description: "GPUs held by jobs against the partition's total.",
              queries: [
                { expr: sumOf(sel(slurm.slurm_partition_gpus, { ...PARTITION, state: "allocated" }), ["partition"]), legend: "{{partition}} allocated" },
                { expr: sumOf(sel(slurm.slurm_partition_gpus, { ...PARTITION, state: "total" }), ["partition"]), legend: "{{partition}} total" },
              ],
              unit: "short",
            }),
            tablePanel({
              title: "Nodes",
              description: "Each node's state and its CPUs and GPUs in use.",
              queries: [
                { expr: sel(slurm.slurm_node_state), table: true, instant: true },
                { expr: sumOf(sel(slurm.slurm_node_gpus, { state: "allocated" }), ["node"]), table: true, instant: true },
                { expr: sumOf(sel(slurm.slurm_node_cpus, { state: "allocated" }), ["node"]), table: true, instant: true },
              ],
              merge: true,
              hideColumns: ["job", "instance", "Value #A"],
              renameColumns: { node: "Node", state: "State", "Value #B": "GPUs allocated", "Value #C": "CPUs allocated" },
            }),
          ],
        },
        {
          title: "GPUs per user",
          collapsed: false,
          panels: [
            timeseriesPanel({
              title: "GPUs held per user",
              description: "GPUs held by each user's running jobs; the area over time is the user's GPU-hours.",
              queries: [{ expr: sumOf(sel(slurm.slurm_job_gpus, PARTITION), ["user"]), legend: "{{user}}" }],
              unit: "short",
              stack: true,
            }),
            barGaugePanel({
              title: "GPUs held per account",
              description: "GPUs held by each account's running jobs now.",
              queries: [{ expr: sumOf(sel(slurm.slurm_job_gpus, PARTITION), ["account"]), legend: "{{account}}", instant: true }],
              unit: "short",
              thresholds: NEUTRAL,
            }),
            tablePanel({
              title: "Jobs holding GPUs",
              description: "Each running job with GPUs: its ID, name, user, account and partition.",
              queries: [{ expr: sel(slurm.slurm_job_gpus, PARTITION), table: true, instant: true }],
              hideColumns: ["job", "instance"],
              renameColumns: { job_id: "Job ID", job_name: "Name", user: "User", account: "Account", partition: "Partition", Value: "GPUs" },
              valueColumn: "GPUs",
              width: 24,
            }),
          ],
        },
        {
          title: "Queue",
          collapsed: false,
          panels: [
            timeseriesPanel({
              title: "Jobs by state",
              description: "Jobs in the queue by state.",
              queries: [{ expr: sumOf(sel(slurm.slurm_jobs, PARTITION), ["state"]), legend: "{{state}}" }],
              unit: "short",
            }),
            timeseriesPanel({
              title: "Pending jobs by reason",
              description: "Why jobs wait: Resources (nothing free), Priority (others first), limits, dependencies.",
              queries: [{ expr: sumOf(sel(slurm.slurm_jobs_pending, PARTITION), ["reason"]), legend: "{{reason}}" }],
              unit: "short",
              stack: true,
            }),
            timeseriesPanel({
              title: "GPUs asked for by pending jobs",
              description: "GPUs the pending jobs of each partition wait for.",
              queries: [{ expr: sumOf(sel(slurm.slurm_jobs_pending_gpus, PARTITION), ["partition"]), legend: "{{partition}}" }],
              unit: "short",
            }),
            timeseriesPanel({
              title: "Longest GPU job wait",
              description: "How long the longest-waiting pending job asking for GPUs has been queued, per partition.",
              queries: [{ expr: sel(slurm.slurm_gpu_job_pending_max_seconds, PARTITION), legend: "{{partition}}" }],
              unit: "s",
              thresholds: rising(pending.warn, pending.crit),
              thresholdLines: true,
            }),
          ],
        },
        {
          title: "Services discovered from jobs",
          collapsed: false,
          panels: [
            tablePanel({
              title: "Monitored services",
              description: "Every scrape target found through a SLURM job (or a monitoring target's fixed host), and whether it answers.",
              queries: [{ expr: sel(stack.up, { slurm_node: ne("") }), table: true, instant: true }],
              renameColumns: { job: "Scrape job", instance: "Target", slurm_job_id: "Job ID", slurm_job_name: "Job name", slurm_user: "User", slurm_partition: "Partition", slurm_node: "Node", Value: "Up" },
              hideColumns: ["slurm_account"],
              valueColumn: "Up",
              mappings: UP_DOWN_MAPPINGS,
              thresholds: ZERO_BAD,
              width: 16,
            }),
            barGaugePanel({
              title: "Discovered targets per scrape job",
              description: "How many targets each monitoring target group has now; 0 means its job is not running.",
              queries: [{ expr: sel(slurm.slurm_discovered_targets), legend: "{{scrape_job}}", instant: true }],
              unit: "short",
              thresholds: NEUTRAL,
              width: 8,
            }),
          ],
        },
      ] satisfies DashboardDef["sections"]
    ).map(slurmSection),
  };
}
