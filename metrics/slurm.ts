import { metric } from "./define";

/**
 * Labels of every target found through the exporter's SLURM service discovery (the stack's
 * relabelling turns __meta_slurm_* into these), so `up` and a service's own series carry them.
 */
export const SLURM_TARGET_LABELS = ["slurm_job_id", "slurm_job_name", "slurm_user", "slurm_account", "slurm_partition", "slurm_node"] as const;

/**
 * A SLURM cluster as the exporter reads it from sinfo and squeue (`--slurm`), and the service
 * discovery it serves from running jobs. Node and job states are sinfo's and squeue's own
 * names, lower-cased (idle, mixed, allocated, drained, draining, down; running, pending, ...).
 */
export const slurm = {
  slurm_node_state: metric({
    name: "slurm_node_state",
    type: "gauge",
    help: "1 for the node's current state (drain folded in: drained, draining).",
    labels: ["node", "state"],
    source: "slurm",
  }),
  slurm_nodes: metric({ name: "slurm_nodes", type: "gauge", help: "Nodes in the cluster by state.", labels: ["state"], source: "slurm" }),
  slurm_node_cpus: metric({
    name: "slurm_node_cpus",
    type: "gauge",
    help: "CPUs of the node: allocated, idle and total.",
    labels: ["node", "state"],
    source: "slurm",
  }),
  slurm_node_gpus: metric({
    name: "slurm_node_gpus",
    type: "gauge",
    help: "GPUs (gpu GRES) of the node: allocated, idle and total.",
    labels: ["node", "state"],
    source: "slurm",
  }),
  slurm_partition_nodes: metric({
    name: "slurm_partition_nodes",
    type: "gauge",
    help: "Nodes of the partition by state.",
    labels: ["partition", "state"],
    source: "slurm",
  }),
  slurm_partition_cpus: metric({
    name: "slurm_partition_cpus",
    type: "gauge",
    help: "CPUs of the partition's nodes: allocated, idle and total.",
    labels: ["partition", "state"],
    source: "slurm",
  }),
  slurm_partition_gpus: metric({
    name: "slurm_partition_gpus",
    type: "gauge",
    help: "GPUs (gpu GRES) of the partition's nodes: allocated, idle and total.",
    labels: ["partition", "state"],
    source: "slurm",
  }),
  slurm_jobs: metric({
    name: "slurm_jobs",
    type: "gauge",
    help: "Jobs in the queue by state, partition, user and account.",
    labels: ["state", "partition", "user", "account"],
    source: "slurm",
  }),
  slurm_jobs_pending: metric({
    name: "slurm_jobs_pending",
    type: "gauge",
    help: "Pending jobs by partition and the reason they wait.",
    labels: ["partition", "reason"],
    source: "slurm",
  }),
  slurm_jobs_pending_gpus: metric({
    name: "slurm_jobs_pending_gpus",
    type: "gauge",
    help: "GPUs asked for by pending jobs, by partition.",
    labels: ["partition"],
    source: "slurm",
  }),
  slurm_gpu_job_pending_max_seconds: metric({
    name: "slurm_gpu_job_pending_max_seconds",
    type: "gauge",
    help: "How long the longest-waiting pending job that asks for GPUs has been queued, by partition.",
    labels: ["partition"],
    source: "slurm",
    unit: "s",
  }),
  slurm_job_gpus: metric({
    name: "slurm_job_gpus",
    type: "gauge",
    help: "GPUs held by a running job.",
    labels: ["job_id", "job_name", "user", "account", "partition"],
    source: "slurm",
  }),
  slurm_discovered_targets: metric({
    name: "slurm_discovered_targets",
    type: "gauge",
    help: "Scrape targets the exporter's HTTP service discovery lists, by scrape job.",
    labels: ["scrape_job"],
    source: "slurm",
  }),
  slurm_command_duration_seconds: metric({
    name: "slurm_command_duration_seconds",
    type: "gauge",
    help: "Time the last successful run of a SLURM command (squeue, sinfo) took.",
    labels: ["command"],
    source: "slurm",
    unit: "s",
  }),
} as const;
