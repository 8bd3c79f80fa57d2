import * as z from "../core/zod";
import { countArrayTasks, countGpus, expandHostlist } from "./gres";

/**
 * The cluster as the exporter sees it after one poll: `sinfo --json` for nodes, `squeue --json`
 * for jobs (Slurm's OpenAPI data, v0.0.38 in Slurm 22.05). The schemas below hold only the
 * fields this exporter reads and accept anything else, because the document grows and changes
 * between Slurm releases; fields that newer releases dropped are optional and have fallbacks.
 * Bounds keep a faulty answer from blowing up the exporter's series count.
 */
const MAX_NODES = 20_000;
const MAX_JOBS = 200_000;

const name = z.string().check(z.maxLength(256));
const optionalText = z.optional(z.nullable(z.string().check(z.maxLength(4096))));
const count = z.optional(z.nullable(z.number().check(z.gte(0))));
const time = z.optional(z.nullable(z.number()));

const sinfoNodeSchema = z.object({
  name: name.check(z.minLength(1)),
  address: optionalText,
  hostname: optionalText,
  state: z.string().check(z.minLength(1), z.maxLength(64)),
  state_flags: z.optional(z.nullable(z.array(z.string().check(z.maxLength(64))))),
  partitions: z.optional(z.nullable(z.array(name))),
  cpus: count,
  alloc_cpus: count,
  idle_cpus: count,
  gres: optionalText,
  gres_used: optionalText,
  reason: optionalText,
});

const squeueJobSchema = z.object({
  job_id: z.number().check(z.gte(0)),
  name: z.optional(z.nullable(name)),
  user_name: z.optional(z.nullable(name)),
  user_id: z.optional(z.nullable(z.number())),
  account: optionalText,
  partition: optionalText,
  job_state: z.string().check(z.minLength(1), z.maxLength(64)),
  state_reason: optionalText,
  nodes: optionalText,
  node_count: count,
  submit_time: time,
  array_task_string: optionalText,
  start_time: time,
  gres_detail: z.optional(z.nullable(z.array(z.string().check(z.maxLength(4096))))),
  tres_per_node: optionalText,
  tres_per_job: optionalText,
  tres_alloc_str: optionalText,
  tres_req_str: optionalText,
  job_resources: z.optional(
    z.nullable(
      z.object({
        allocated_nodes: z.optional(z.nullable(z.array(z.object({ nodename: z.optional(z.nullable(name)) })))),
      }),
    ),
  ),
});

const errorsSchema = z.optional(z.nullable(z.array(z.object({ error: z.optional(z.nullable(z.string())), description: z.optional(z.nullable(z.string())) }))));

export const sinfoSchema = z.object({ errors: errorsSchema, nodes: z.array(sinfoNodeSchema).check(z.maxLength(MAX_NODES)) });
export const squeueSchema = z.object({ errors: errorsSchema, jobs: z.array(squeueJobSchema).check(z.maxLength(MAX_JOBS)) });

export interface SlurmNode {
  readonly name: string;
  /** NodeAddr: where services on the node are reached (the node name when unset). */
  readonly address: string;
  /** sinfo's long state name, lower-case (idle, mixed, allocated, drained, draining, down, ...). */
  readonly state: string;
  readonly partitions: readonly string[];
  readonly cpus: { readonly total: number; readonly allocated: number; readonly idle: number };
  readonly gpus: { readonly total: number; readonly allocated: number };
  readonly reason: string;
}

export interface SlurmJob {
  readonly id: string;
  readonly name: string;
  readonly user: string;
  readonly account: string;
  readonly partition: string;
  /** Lower-case job state: running, pending, completing, ... */
  readonly state: string;
  /** Why the job waits ("Resources", "Priority", ...); "None" when it does not. */
  readonly reason: string;
  /** Nodes the job runs on (empty until it starts). */
  readonly nodes: readonly string[];
  /** GPUs the job holds when running, or asks for when pending (per task of an array). */
  readonly gpus: number;
  /** Jobs this record stands for: the tasks of a pending array squeue lists once, else 1. */
  readonly count: number;
  /** Unix seconds; undefined where Slurm did not say. */
  readonly submitTime: number | undefined;
  readonly startTime: number | undefined;
}

export interface SlurmSnapshot {
  readonly nodes: readonly SlurmNode[];
  readonly jobs: readonly SlurmJob[];
  /** Unix seconds when the poll finished. */
  readonly takenAt: number;
}

/** Parses a command's stdout as JSON with a schema; the error names the command and the first offending paths. */
function parseDocument<T>(command: string, stdout: string, schema: z.ZodMiniType<T>): T {
  let payload: unknown;
  try {
    payload = JSON.parse(stdout);
  } catch {
    throw new Error(`${command} did not print a JSON document (${stdout.length} bytes; truncated or not --json output)`);
  }
  const result = schema.safeParse(payload);
  if (!result.success) {
    const where = result.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new Error(`${command} output does not match the expected schema: ${where}`);
  }
  return result.data;
}

function reportedErrors(command: string, errors: readonly { error?: string | null | undefined; description?: string | null | undefined }[] | null | undefined): void {
  const first = errors?.[0];
  if (first) throw new Error(`${command} reported an error: ${(first.error ?? first.description ?? "unknown").slice(0, 200)}`);
}

/** sinfo's long state name: base state, with DRAIN turning idle/down into drained and busy into draining. */
export function nodeState(state: string, flags: readonly string[]): string {
  const base = state.toLowerCase();
  if (flags.some((f) => f.toUpperCase() === "DRAIN")) return base === "allocated" || base === "mixed" || base === "completing" ? "draining" : "drained";
  return base;
}

export function parseSinfo(stdout: string): SlurmNode[] {
  const doc = parseDocument("sinfo --json", stdout, sinfoSchema);
  reportedErrors("sinfo --json", doc.errors);
  return doc.nodes.map((n) => {
    const total = n.cpus ?? 0;
    const allocated = n.alloc_cpus ?? 0;
    return {
      name: n.name,
      address: n.address || n.name,
      state: nodeState(n.state, n.state_flags ?? []),
      partitions: n.partitions ?? [],
      cpus: { total, allocated, idle: n.idle_cpus ?? Math.max(0, total - allocated) },
      gpus: { total: countGpus(n.gres ?? ""), allocated: countGpus(n.gres_used ?? "") },
      reason: n.reason ?? "",
    };
  });
}

type SqueueJob = z.infer<typeof squeueJobSchema>;

/** GPUs a job holds (running) or asks for (pending), from whichever field this Slurm fills in. */
function jobGpus(j: SqueueJob, running: boolean): number {
  if (running) {
    const detail = (j.gres_detail ?? []).reduce((sum, d) => sum + countGpus(d), 0);
    if (detail > 0) return detail;
    const alloc = tresGpus(j.tres_alloc_str ?? "");
    if (alloc > 0) return alloc;
  }
  const perNode = countGpus(j.tres_per_node ?? "");
  if (perNode > 0) return perNode * Math.max(1, j.node_count ?? 1);
  return countGpus(j.tres_per_job ?? "") || tresGpus(j.tres_req_str ?? "");
}

/** `gres/gpu=2` in a TRES string; the typed entries (`gres/gpu:a100=2`) summed where no untyped one is given. */
function tresGpus(tres: string): number {
  const parts = tres.split(",").map((p) => p.trim());
  const untyped = parts.map((p) => /^gres\/gpu=(\d+)$/.exec(p)).find((m) => m !== null);
  if (untyped) return Number(untyped[1]);
  return parts.reduce((sum, p) => sum + Number(/^gres\/gpu:[^=]+=(\d+)$/.exec(p)?.[1] ?? 0), 0);
}

export function parseSqueue(stdout: string): SlurmJob[] {
  const doc = parseDocument("squeue --json", stdout, squeueSchema);
  reportedErrors("squeue --json", doc.errors);
  return doc.jobs.map((j) => {
    const state = j.job_state.toLowerCase();
    const running = state === "running" || state === "completing" || state === "suspended";
    const allocated = (j.job_resources?.allocated_nodes ?? []).map((n) => n.nodename ?? "").filter((n) => n !== "");
    return {
      id: String(j.job_id),
      name: j.name ?? "",
      user: j.user_name || (j.user_id !== undefined && j.user_id !== null ? String(j.user_id) : ""),
      account: j.account ?? "",
      partition: j.partition ?? "",
      state,
      reason: j.state_reason || "None",
      nodes: running ? (allocated.length ? allocated : expandHostlist(j.nodes ?? "")) : [],
      gpus: jobGpus(j, running),
      count: state === "pending" && j.array_task_string ? countArrayTasks(j.array_task_string) : 1,
      submitTime: positive(j.submit_time),
      startTime: running ? positive(j.start_time) : undefined,
    };
  });
}

function positive(t: number | null | undefined): number | undefined {
  return t !== undefined && t !== null && t > 0 ? t : undefined;
}
