import { STACK_JOB_NAMES, type StackJobService } from "../metrics/jobs";
import type { AlertingConfig, Thresholds } from "./config";

/** Scrape job names the rules select on, per service: the stack's own job names by default. */
export const DEFAULT_JOB_NAMES: Readonly<Record<StackJobService, string>> = STACK_JOB_NAMES;

/** What a rule set is built from. */
export interface RuleContext {
  readonly thresholds: Thresholds;
  readonly jobs: Readonly<Record<StackJobService, string>>;
  readonly ruleSets: AlertingConfig["ruleSets"];
  /** Prometheus's retention size in bytes; without it there is no TSDB size alert. */
  readonly retentionBytes?: number;
  /** Whether kube-state-metrics' series exist on the stack (the Kubernetes recording rules read them); absent means yes. */
  readonly kubeStateMetrics?: boolean;
  /** Whether cAdvisor's series exist on the stack (the container recording rules read them); absent means yes. */
  readonly cadvisor?: boolean;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40, PB: 2 ** 50, EB: 2 ** 60 };

/** Bytes in a Prometheus retention size such as `20GB`; Prometheus reads these units as powers of 1024. */
export function retentionSizeBytes(size: string): number {
  const m = /^(\d+)(B|KB|MB|GB|TB|PB|EB)$/.exec(size);
  const unit = m?.[2] ? SIZE_UNITS[m[2]] : undefined;
  if (!m || unit === undefined) throw new Error(`not a retention size: ${size} (sizes like 512MB, 20GB)`);
  return Number(m[1]) * unit;
}
