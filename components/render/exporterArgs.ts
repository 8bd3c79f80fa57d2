import { durationMs } from "../../alerts/model";
import type { StackConfig } from "../config";

const seconds = (d: string): string => String(durationMs(d) / 1000);

/**
 * The exporter's SLURM flags: the source, its bounds, and one --slurm-target per monitoring
 * target (`JOB:PORT:KIND=VALUE`, the exporter's own notation).
 */
export function slurmArgs(cfg: StackConfig): string[] {
  const s = cfg.slurm;
  if (!s.enabled) return [];
  return [
    "--slurm",
    `--slurm-interval=${seconds(s.pollInterval)}`,
    `--slurm-command-timeout=${seconds(s.commandTimeout)}`,
    ...(s.slurmConf ? [`--slurm-conf=${s.slurmConf}`] : []),
    ...s.monitoringTargets.map((t) => `--slurm-target=${t.job}:${t.port}:${t.select.kind}=${t.select.value}`),
  ];
}

/**
 * The command line of an exporter the operator runs on the host (`exporter.run: host`: a SLURM
 * head or login node, where sinfo, squeue and munge live): it listens where Prometheus reaches
 * it (the port of `exporter.hostTarget`) and reads the sources a host run supports.
 */
export function hostExporterArgs(cfg: StackConfig): string[] {
  const port = Number(cfg.exporter.hostTarget.split(":").pop());
  return [`--metrics-port=${port}`, ...(cfg.exporter.drmUrl ? [`--drm-url=${cfg.exporter.drmUrl}`] : []), ...slurmArgs(cfg)];
}
