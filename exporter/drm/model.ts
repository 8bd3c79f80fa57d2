import * as z from "../core/zod";

/**
 * The DRM coordinator's state as the exporter needs it: one JSON document, answered by
 * `GET <drm-url>/api/v1/monitoring/snapshot` (see docs/exporter.md). Counters are the
 * coordinator's own cumulative totals since it started; the exporter mirrors them.
 * Bounds keep a faulty coordinator from blowing up the exporter's series count.
 */
const MAX_WORKERS = 10_000;
const MAX_LABELLED_TOTALS = 1_000;

const percent = z.number().check(z.gte(0), z.lte(1_000));
const count = z.int().check(z.gte(0), z.lte(Number.MAX_SAFE_INTEGER));
const labelValue = z.string().check(z.minLength(1), z.maxLength(256));

export const drmWorkerSchema = z.object({
  worker_id: labelValue,
  /** "active" counts towards drm_active_workers; anything else (idle, offline, draining, ...) does not. */
  status: z.string().check(z.maxLength(64)),
  cpu_utilization_percent: percent,
  memory_utilization_percent: percent,
  gpu_utilization_percent: percent,
  tasks: count,
});

export const drmSnapshotSchema = z
  .object({
    /** When the coordinator took the snapshot: Unix seconds or ISO 8601. Informational. */
    timestamp: z.optional(z.union([z.number(), z.string().check(z.maxLength(64))])),
    cpu_utilization_percent: percent,
    memory_utilization_percent: percent,
    gpu_utilization_percent: percent,
    workers: z.array(drmWorkerSchema).check(z.maxLength(MAX_WORKERS)),
    active_tasks: count,
    pending_tasks: count,
    completed_tasks_total: count,
    task_throughput_per_second: z.number().check(z.gte(0)),
    allocation_time_milliseconds: z.number().check(z.gte(0)),
    resource_efficiency_percent: percent,
    scaling_operations_total: z.array(z.object({ direction: labelValue, reason: labelValue, count })).check(z.maxLength(MAX_LABELLED_TOTALS)),
    alerts_total: z.array(z.object({ level: labelValue, source: labelValue, count })).check(z.maxLength(MAX_LABELLED_TOTALS)),
  })
  .check(
    z.superRefine((snap, ctx) => {
      const seen = new Set<string>();
      for (const [i, w] of snap.workers.entries()) {
        if (seen.has(w.worker_id)) {
          ctx.addIssue({ code: "custom", path: ["workers", i, "worker_id"], message: `duplicate worker_id ${JSON.stringify(w.worker_id)}` });
        }
        seen.add(w.worker_id);
      }
      const pairs = (kind: string, keys: string[]): void => {
        if (new Set(keys).size !== keys.length) ctx.addIssue({ code: "custom", path: [kind], message: `duplicate label pair in ${kind}` });
      };
      pairs("scaling_operations_total", snap.scaling_operations_total.map((s) => `${s.direction}\u0000${s.reason}`));
      pairs("alerts_total", snap.alerts_total.map((a) => `${a.level}\u0000${a.source}`));
    }),
  );

export type DrmWorker = z.infer<typeof drmWorkerSchema>;
export type DrmSnapshot = z.infer<typeof drmSnapshotSchema>;

/** Parses a payload; the error names the first few offending paths, never the values. */
export function parseDrmSnapshot(payload: unknown): DrmSnapshot {
  const result = drmSnapshotSchema.safeParse(payload);
  if (result.success) return result.data;
  const where = result.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    .join("; ");
  throw new Error(`DRM payload does not match the schema: ${where}`);
}
