import { panelLevels, type Thresholds } from "../metrics/thresholds";
import { drmDashboard } from "./drm";
import { ds01History } from "./ds01History";
import { ds01Overview } from "./ds01Overview";
import { ds01User } from "./ds01User";
import { hostDashboard } from "./host";
import { hpcSlurm } from "./hpcSlurm";
import { k8sGpuWorkloads } from "./k8sGpuWorkloads";
import type { DashboardDef } from "./kit/dashboard";
import { nvidiaDcgm } from "./nvidiaDcgm";
import { stackHealth } from "./stackHealth";

/** Prometheus' default size limit in this stack, 20GB as Prometheus reads it (2^30-byte GB). */
export const DEFAULT_RETENTION_SIZE_BYTES = 20 * 2 ** 30;

export interface DefinitionOptions {
  readonly retentionSizeBytes: number;
  /** The stack's alert thresholds: the panels that show what an alert watches colour by them. */
  readonly thresholds: Thresholds;
}

/** Every dashboard of the stack, freshly built (builders are mutable, so never shared between calls). */
export function dashboardDefinitions(opts: DefinitionOptions): DashboardDef[] {
  const levels = panelLevels(opts.thresholds);
  return [
    ds01Overview(levels),
    ds01User(levels),
    ds01History(levels),
    nvidiaDcgm(levels),
    drmDashboard(levels),
    hostDashboard(levels),
    stackHealth(opts.retentionSizeBytes, levels),
    hpcSlurm(levels),
    k8sGpuWorkloads(levels),
  ];
}
