import { Counter, Gauge, type Registry } from "prom-client";
import { drm } from "../../metrics";
import type { Collector } from "../core/collector";
import type { Source } from "../core/source";
import { createPoller, type Poller } from "../core/poller";
import { sourceTracker } from "../core/tracker";
import type { DrmSnapshot } from "./model";

export const DEFAULT_UPDATE_INTERVAL_MS = 5_000;

export interface DrmCollectorOptions {
  readonly source: Source<DrmSnapshot>;
  /** How often the source is polled (--update-interval). */
  readonly updateIntervalMs?: number;
  /**
   * Bound on one poll as the tracker enforces it; defaults to the update interval, capped at
   * 10 s. The HTTP source has its own, shorter timeout; this one catches sources that do not.
   */
  readonly timeoutMs?: number;
}

const gauge = (def: { name: string; help: string; labels: readonly string[] }): Gauge<string> =>
  new Gauge({ name: def.name, help: def.help, labelNames: [...def.labels], registers: [] });
const counter = (def: { name: string; help: string; labels: readonly string[] }): Counter<string> =>
  new Counter({ name: def.name, help: def.help, labelNames: [...def.labels], registers: [] });

/** The 17 drm_* metrics, built from the catalog so names and labels cannot drift. */
function drmMetrics() {
  return {
    cpu: gauge(drm.drm_cpu_utilization_percent),
    memory: gauge(drm.drm_memory_utilization_percent),
    gpu: gauge(drm.drm_gpu_utilization_percent),
    workers: gauge(drm.drm_worker_count),
    activeWorkers: gauge(drm.drm_active_workers),
    activeTasks: gauge(drm.drm_active_tasks),
    pendingTasks: gauge(drm.drm_pending_tasks),
    completed: counter(drm.drm_completed_tasks_total),
    throughput: gauge(drm.drm_task_throughput_per_second),
    allocationTime: gauge(drm.drm_allocation_time_milliseconds),
    efficiency: gauge(drm.drm_resource_efficiency_percent),
    scaling: counter(drm.drm_scaling_operations_total),
    alerts: counter(drm.drm_alerts_total),
    workerCpu: gauge(drm.drm_worker_cpu_utilization_percent),
    workerMemory: gauge(drm.drm_worker_memory_utilization_percent),
    workerGpu: gauge(drm.drm_worker_gpu_utilization_percent),
    workerTasks: gauge(drm.drm_worker_tasks),
  };
}
type DrmMetrics = ReturnType<typeof drmMetrics>;

/**
 * Publishes the DRM coordinator's state. The source is polled in the background every
 * update interval (so a slow coordinator never slows a scrape); a scrape only waits for the
 * very first poll. The drm_* metrics appear once the first snapshot arrived (an unreachable
 * coordinator shows as ds01_exporter_source_up{source="drm"} 0, not as zeros), and a failed
 * poll leaves the last good values in place.
 *
 * Counters mirror the coordinator's cumulative totals exactly: a total that drops (the
 * coordinator restarted) is published as dropped, which Prometheus reads as a counter reset.
 */
export function createDrmCollector(options: DrmCollectorOptions): Collector {
  const intervalMs = options.updateIntervalMs ?? DEFAULT_UPDATE_INTERVAL_MS;
  const timeoutMs = options.timeoutMs ?? Math.min(intervalMs, 10_000);
  const metrics = drmMetrics();
  let poller: Poller | undefined;

  return {
    name: "drm",
    register(target: Registry): void {
      let registered = false;
      poller = createPoller({
        source: options.source,
        tracker: sourceTracker(target),
        intervalMs,
        timeoutMs,
        apply: (snapshot) => {
          apply(metrics, snapshot);
          if (!registered) {
            for (const m of Object.values(metrics)) target.registerMetric(m);
            registered = true;
          }
        },
      });
    },
    refresh(): Promise<void> {
      return poller?.start() ?? Promise.resolve();
    },
    async close(): Promise<void> {
      poller?.stop();
      await options.source.close();
    },
  };
}

function apply(m: DrmMetrics, s: DrmSnapshot): void {
  m.cpu.set(s.cpu_utilization_percent);
  m.memory.set(s.memory_utilization_percent);
  m.gpu.set(s.gpu_utilization_percent);
  m.workers.set(s.workers.length);
  m.activeWorkers.set(s.workers.filter((w) => w.status === "active").length);
  m.activeTasks.set(s.active_tasks);
  m.pendingTasks.set(s.pending_tasks);
  m.throughput.set(s.task_throughput_per_second);
  m.allocationTime.set(s.allocation_time_milliseconds);
  m.efficiency.set(s.resource_efficiency_percent);

  m.completed.reset();
  m.completed.inc(s.completed_tasks_total);
  m.scaling.reset();
  for (const op of s.scaling_operations_total) m.scaling.inc({ direction: op.direction, reason: op.reason }, op.count);
  m.alerts.reset();
  for (const a of s.alerts_total) m.alerts.inc({ level: a.level, source: a.source }, a.count);

  // Workers that left the pool must disappear, not freeze at their last value.
  for (const g of [m.workerCpu, m.workerMemory, m.workerGpu, m.workerTasks]) g.reset();
  for (const w of s.workers) {
    const labels = { worker_id: w.worker_id };
    m.workerCpu.set(labels, w.cpu_utilization_percent);
    m.workerMemory.set(labels, w.memory_utilization_percent);
    m.workerGpu.set(labels, w.gpu_utilization_percent);
    m.workerTasks.set(labels, w.tasks);
  }
}
