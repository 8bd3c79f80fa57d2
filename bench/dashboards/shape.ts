import { resolve } from "node:path";
import { parseArgs } from "node:util";

/** The host whose history the dashboard benchmark builds, and how it is measured. */
export interface BenchShape {
  readonly days: number;
  /** Seconds between samples in the generated history (a scrape interval). */
  readonly intervalSeconds: number;
  readonly gpus: number;
  /** How many of the GPUs are split into MIG instances. */
  readonly migGpus: number;
  readonly migInstances: number;
  readonly cpus: number;
  /** Containers alive at any moment; each lives `containerHours`, so a week holds many more. */
  readonly containers: number;
  readonly containerHours: number;
  /** DRM workers alive at any moment; each lives `workerHours`. */
  readonly workers: number;
  readonly workerHours: number;
  readonly users: number;
  /** Dashboard time ranges to measure, in days; ranges longer than the history are skipped. */
  readonly ranges: readonly number[];
  /** Queries listed as the slowest. */
  readonly slowest: number;
  /** Keep the generated TSDB here instead of a temp dir (and reuse it when it exists). */
  readonly keep?: string;
  /** Another checkout whose dashboards are measured beside this tree's, taking turns on one Prometheus. */
  readonly baseline?: string;
}

const DEFAULTS = {
  days: 7,
  interval: 60,
  gpus: 4,
  "mig-gpus": 1,
  "mig-instances": 3,
  cpus: 32,
  containers: 12,
  "container-hours": 12,
  workers: 24,
  "worker-hours": 6,
  users: 8,
  ranges: "1,7,30",
  slowest: 10,
} as const;

/** The 8-GPU, 128-CPU host of the issue's targets, with DS01-like churn, at Prometheus' 15 s scrape interval. */
export const TARGET_FLAGS = "--gpus 8 --mig-gpus 2 --mig-instances 7 --cpus 128 --containers 40 --workers 64 --interval 15";

/** Runs of each version in a `--baseline` comparison; each query's median is reported. */
export const BASELINE_PASSES = 3;

export const USAGE = `npm run bench:dashboards -- [flags]

Builds --days of history for one GPU host with promtool (raw series, then the recording rules),
starts Prometheus on it and runs every panel query of every dashboard as Grafana does, over
each of --ranges days, one query after another.

${Object.entries(DEFAULTS)
  .map(([k, v]) => `  --${k} ${v}`)
  .join("\n")}
  --keep DIR        keep (and reuse) the generated TSDB
  --baseline DIR    also measure the dashboards of the checkout in DIR (with its node_modules),
                    the two taking turns on one Prometheus, ${BASELINE_PASSES} passes each, each query's median
  --target          the issue's target host: ${TARGET_FLAGS}
`;

function positive(name: string, raw: string | undefined, fallback: number, allowZero = false): number {
  const v = Number(raw ?? fallback);
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) throw new Error(`--${name}: expected a ${allowZero ? "non-negative" : "positive"} number, got ${raw}`);
  return v;
}

export function parseShape(argv: readonly string[]): BenchShape {
  const options = Object.fromEntries([...Object.keys(DEFAULTS), "keep", "baseline"].map((k) => [k, { type: "string" as const }]));
  const { values } = parseArgs({ args: argv.includes("--target") ? [...argv.filter((a) => a !== "--target"), ...TARGET_FLAGS.split(" ")] : [...argv], options, strict: true });
  const get = (k: keyof typeof DEFAULTS): string | undefined => values[k] as string | undefined;
  const num = (k: keyof typeof DEFAULTS, allowZero = false): number => positive(k, get(k), DEFAULTS[k] as number, allowZero);
  const shape: BenchShape = {
    days: num("days"),
    intervalSeconds: num("interval"),
    gpus: num("gpus"),
    migGpus: num("mig-gpus", true),
    migInstances: num("mig-instances"),
    cpus: num("cpus"),
    containers: num("containers", true),
    containerHours: num("container-hours"),
    workers: num("workers", true),
    workerHours: num("worker-hours"),
    users: num("users"),
    ranges: (get("ranges") ?? DEFAULTS.ranges).split(",").map((r) => positive("ranges", r, 0)),
    slowest: num("slowest"),
    ...(values.keep ? { keep: values.keep as string } : {}),
    ...(values.baseline ? { baseline: resolve(values.baseline as string) } : {}),
  };
  if (shape.migGpus > shape.gpus) throw new Error(`--mig-gpus (${shape.migGpus}) exceeds --gpus (${shape.gpus})`);
  return shape;
}
