import { retentionSizeBytes } from "../../alerts/context";
import { renderRuleFiles } from "../../alerts/render";
import { buildDashboards } from "../../dashboards";
import { STACK_JOB_NAMES } from "../../metrics/jobs";

/** The service whose series the Kubernetes alerts read (components/services/kubeStateMetrics.ts). */
const KUBE_STATE_METRICS_SERVICE = "kubeStateMetrics";
import type { StackConfig } from "../config/resolve";

/**
 * Where the bundle's rule files, dashboards and Alertmanager routing come from (alerts/ and
 * dashboards/), in one place, so the bundle and every platform take them the same way.
 */
export interface RuleFile {
  readonly fileName: string;
  readonly content: string;
}

export interface DashboardFile {
  readonly uid: string;
  readonly title: string;
  readonly fileName: string;
  readonly json: string;
}

/** Prometheus rule files: thresholds and switches from the config, job names as the stack scrapes them. */
export function ruleFilesFor(cfg: StackConfig): RuleFile[] {
  // The SLURM alerts only where the exporter reads a SLURM cluster, the Kubernetes ones only where kube-state-metrics runs; the container recordings only where cAdvisor is scraped.
  const sets = cfg.alerting.ruleSets;
  const alerting = {
    ...cfg.alerting,
    ruleSets: { ...sets, slurm: sets.slurm && cfg.slurm.enabled, kubernetes: sets.kubernetes && cfg.components[KUBE_STATE_METRICS_SERVICE] === true },
  };
  return renderRuleFiles({
    thresholds: cfg.thresholds,
    alerting,
    retentionSize: cfg.retention.size,
    jobs: STACK_JOB_NAMES,
    kubeStateMetrics: cfg.components[KUBE_STATE_METRICS_SERVICE] === true,
    cadvisor: cfg.components.cadvisor,
  });
}

/**
 * Grafana dashboards, with the TSDB size panel measured against this stack's retention size and
 * panels coloured at the levels this stack's alerts fire at.
 */
export function dashboardsFor(cfg: StackConfig): DashboardFile[] {
  return buildDashboards({ retentionSizeBytes: retentionSizeBytes(cfg.retention.size), thresholds: cfg.thresholds });
}

export { alertmanagerConfigFor } from "./alertmanager";
