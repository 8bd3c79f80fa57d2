import { exporterSelf, ne, re, sel, slurm, stack } from "../../metrics";
import type { RuleContext } from "../context";
import { alert, humanDuration, input, num, type AlertingRule, type RuleSet } from "../model";

/**
 * A SLURM cluster as the exporter's --slurm source sees it: nodes out of service, GPU jobs
 * waiting too long, services discovered from jobs that stop answering, and the source itself
 * failing (which would freeze every other SLURM panel and alert at its last values).
 */

const UNAVAILABLE_STATES = "down.*|drain.*|fail.*";

function nodeUnavailable(ctx: RuleContext): AlertingRule {
  const node = { job: ctx.jobs.exporter, instance: "head:9101", node: "gpu-node-3" };
  const summary = "SLURM node {{ $labels.node }} is {{ $labels.state }}";
  const description = "Node {{ $labels.node }} has been {{ $labels.state }} for 10 minutes: its CPUs and GPUs take no new jobs.";
  const series = (state: string, values: string) => input(slurm.slurm_node_state, { ...node, state }, values);
  return alert({
    alert: "SlurmNodeUnavailable",
    expr: `${sel(slurm.slurm_node_state, { state: re(UNAVAILABLE_STATES) })} == 1`,
    for: "10m",
    severity: "warning",
    summary,
    description,
    condition: "a node is down, drained, draining or failing",
    cases: [
      {
        name: "a drained node fires",
        input: [series("drained", "1x40")],
        at: "30m",
        expect: [{ labels: { ...node, state: "drained" }, summary: "SLURM node gpu-node-3 is drained", description: "Node gpu-node-3 has been drained for 10 minutes: its CPUs and GPUs take no new jobs." }],
      },
      {
        name: "a down node fires",
        input: [series("down", "1x40")],
        at: "30m",
        expect: [{ labels: { ...node, state: "down" }, summary: "SLURM node gpu-node-3 is down", description: "Node gpu-node-3 has been down for 10 minutes: its CPUs and GPUs take no new jobs." }],
      },
      { name: "a busy node stays quiet", input: [series("mixed", "1x40")], at: "30m", expect: [] },
    ],
  });
}

function gpuJobsPending(ctx: RuleContext): AlertingRule {
  const limit = ctx.thresholds.slurm.gpuJobPendingSeconds;
  const labels = { job: ctx.jobs.exporter, instance: "head:9101", partition: "gpu" };
  const waited = limit * 2;
  return alert({
    alert: "SlurmGpuJobsPendingTooLong",
    expr: `${sel(slurm.slurm_gpu_job_pending_max_seconds)} > ${num(limit)}`,
    for: "5m",
    severity: "warning",
    summary: "GPU jobs wait too long in partition {{ $labels.partition }}",
    description: `A job asking for GPUs in partition {{ $labels.partition }} has been pending for {{ $value | humanizeDuration }}, over ${num(limit)} s.`,
    condition: "the longest-waiting pending GPU job of a partition has waited longer than the limit",
    thresholds: { "slurm.gpuJobPendingSeconds": limit },
    cases: [
      {
        name: "a GPU job queued twice the limit fires",
        input: [input(slurm.slurm_gpu_job_pending_max_seconds, labels, `${num(waited)}x20`)],
        at: "10m",
        expect: [
          {
            labels,
            summary: "GPU jobs wait too long in partition gpu",
            description: `A job asking for GPUs in partition gpu has been pending for ${humanDuration(waited)}, over ${num(limit)} s.`,
          },
        ],
      },
      { name: "a short wait stays quiet", input: [input(slurm.slurm_gpu_job_pending_max_seconds, labels, "60x20")], at: "10m", expect: [] },
    ],
  });
}

function serviceDown(): AlertingRule {
  const target = {
    job: "ollama",
    instance: "gpu-node-3:11434",
    slurm_job_id: "3653331",
    slurm_job_name: "ollama_abc123",
    slurm_user: "alice",
    slurm_account: "physics",
    slurm_partition: "gpu",
    slurm_node: "gpu-node-3",
  };
  const summary = "Service {{ $labels.slurm_job_name }} (job {{ $labels.job }}) is down";
  const description =
    "Prometheus cannot scrape {{ $labels.instance }}, found through SLURM job {{ $labels.slurm_job_id }} ({{ $labels.slurm_job_name }}) of {{ $labels.slurm_user }} on {{ $labels.slurm_node }}.";
  return alert({
    alert: "SlurmServiceTargetDown",
    expr: `${sel(stack.up, { slurm_node: ne("") })} == 0`,
    for: "2m",
    severity: "warning",
    summary,
    description,
    condition: "a service target discovered from a SLURM job (or a monitoring target's fixed host) fails its scrapes",
    cases: [
      {
        name: "a job's service that stops answering fires",
        input: [input(stack.up, target, "1 0x10")],
        at: "6m",
        expect: [
          {
            labels: target,
            summary: "Service ollama_abc123 (job ollama) is down",
            description: "Prometheus cannot scrape gpu-node-3:11434, found through SLURM job 3653331 (ollama_abc123) of alice on gpu-node-3.",
          },
        ],
      },
      { name: "an answering service stays quiet", input: [input(stack.up, target, "1x10")], at: "6m", expect: [] },
      { name: "a target not found through SLURM stays quiet here", input: [input(stack.up, { job: "node-exporter", instance: "x:9100" }, "0x10")], at: "6m", expect: [] },
    ],
  });
}

function sourceDown(ctx: RuleContext): AlertingRule {
  const labels = { job: ctx.jobs.exporter, instance: "head:9101", source: "slurm" };
  return alert({
    alert: "SlurmSourceDown",
    expr: `${sel(exporterSelf.ds01_exporter_source_up, { source: "slurm" })} == 0`,
    for: "5m",
    severity: "critical",
    summary: "The exporter cannot read the SLURM cluster",
    description:
      "sinfo or squeue failed on {{ $labels.instance }} for 5 minutes (see the exporter's log for the reason): SLURM metrics are frozen and discovery lists no new services.",
    condition: "the exporter's SLURM source fails its polls",
    cases: [
      {
        name: "a failing source fires",
        input: [input(exporterSelf.ds01_exporter_source_up, labels, "1 0x10")],
        at: "8m",
        expect: [
          {
            labels,
            summary: "The exporter cannot read the SLURM cluster",
            description: "sinfo or squeue failed on head:9101 for 5 minutes (see the exporter's log for the reason): SLURM metrics are frozen and discovery lists no new services.",
          },
        ],
      },
      { name: "a healthy source stays quiet", input: [input(exporterSelf.ds01_exporter_source_up, labels, "1x10")], at: "8m", expect: [] },
      { name: "another failing source stays quiet here", input: [input(exporterSelf.ds01_exporter_source_up, { ...labels, source: "drm" }, "0x10")], at: "8m", expect: [] },
    ],
  });
}

export function slurmRuleSet(ctx: RuleContext): RuleSet {
  return {
    id: "slurm",
    title: "SLURM cluster",
    recording: [],
    alerting: [{ name: "slurm_alerts", rules: [nodeUnavailable(ctx), gpuJobsPending(ctx), serviceDown(), sourceDown(ctx)] }],
  };
}
