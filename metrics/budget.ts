/**
 * The series budget: how many series each scrape job may add to Prometheus, as a function of what
 * the host holds. Series are what Prometheus' memory, disk and every dashboard load scale with,
 * so a change that adds labels or per-entity series has to fit here (or change this on purpose).
 * docs/series-budget.md explains each figure; the e2e suite fails when a job exceeds its budget.
 */

/** What a GPU host holds, as far as series scale with it. */
export interface HostSize {
  readonly cpus: number;
  /** Network interfaces node-exporter reports (each Docker container's veth counts). */
  readonly networkDevices: number;
  readonly filesystems: number;
  readonly disks: number;
  /** Full GPUs plus MIG instances: DCGM reports one entity for each. */
  readonly gpuEntities: number;
  /** DS01 allocations (containers holding a GPU slot) alive at a scrape. */
  readonly allocations: number;
  readonly users: number;
  /** DRM workers alive at a scrape. */
  readonly drmWorkers: number;
  /** Containers cAdvisor sees. */
  readonly containers: number;
}

interface Linear {
  readonly fixed: number;
  readonly per: Partial<Record<keyof HostSize, number>>;
}

/** Per-host jobs: fixed series plus series per CPU, network interface, filesystem, disk, GPU entity, allocation, user, worker, container. */
export const PER_HOST_BUDGET = {
  "node-exporter": { fixed: 400, per: { cpus: 16, networkDevices: 36, filesystems: 8, disks: 20 } },
  // About 29 raw fields per entity (the stack's counter list), plus what the recording rules keep
  // under the exporter's job: the cleaned fields and rates (10 per entity, 18 per physical GPU) and
  // DS01's slot and device series.
  "dcgm-exporter": { fixed: 20, per: { gpuEntities: 59 } },
  "ds01-exporter": { fixed: 260, per: { allocations: 3, users: 3, drmWorkers: 4 } },
  // About 40 raw series per container, plus the five per-container recordings kept under the job
  // (alerts/rules/container-recording.ts).
  cadvisor: { fixed: 300, per: { containers: 45 } },
} as const satisfies Record<string, Linear>;

/** The stack's fixed cost, once per stack whatever the number of hosts. */
export const STACK_BUDGET = { prometheus: 1200, alertmanager: 500, grafana: 1500 } as const;

export type BudgetJob = keyof typeof PER_HOST_BUDGET | keyof typeof STACK_BUDGET;

/** The most series `job` may add for a host of this size. */
export function seriesBudget(job: BudgetJob, host: HostSize): number {
  if (job in STACK_BUDGET) return STACK_BUDGET[job as keyof typeof STACK_BUDGET];
  const b: Linear = PER_HOST_BUDGET[job as keyof typeof PER_HOST_BUDGET];
  return b.fixed + Object.entries(b.per).reduce((sum, [k, n]) => sum + n * host[k as keyof HostSize], 0);
}

/** Series one GPU host adds: its node-exporter, DCGM exporter, DS01 exporter and cAdvisor. */
export function perHostBudget(host: HostSize): number {
  return (Object.keys(PER_HOST_BUDGET) as (keyof typeof PER_HOST_BUDGET)[]).reduce((sum, job) => sum + seriesBudget(job, host), 0);
}
