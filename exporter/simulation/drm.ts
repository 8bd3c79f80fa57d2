import type { DrmSnapshot } from "../drm/model";
import type { DrmOverride } from "./overrides";
import { clamp, type Random } from "./random";

const TASK_SLOTS_PER_WORKER = 4;
const MEAN_TASK_SECONDS = 6;
const MIN_WORKERS = 2;
const MAX_WORKERS = 16;
/** Seconds between scaling evaluations, and the quiet time after a decision. */
const SCALING_PERIOD = 30;
/** An alert condition fires at most once per this many seconds. */
const ALERT_COOLDOWN = 120;

interface Worker {
  readonly id: string;
  status: "starting" | "active" | "draining" | "offline";
  tasks: number;
  readonly hasGpu: boolean;
  cpu: number;
  memory: number;
  gpu: number;
  /** Seconds left in starting/offline. */
  timer: number;
}

/**
 * A simulated DRM coordinator: a task arrival rate that swings over half an hour, workers with
 * four task slots each, a scaler that adds workers under load or pending backlog and drains
 * them when idle, and alerts raised (with cooldowns) by the components a coordinator has.
 * Totals are cumulative from the simulation's start, like the coordinator's own.
 */
export class SimulatedDrm {
  private readonly workers: Worker[] = [];
  private nextWorker = 1;
  private pending = 0;
  private completedTotal = 0;
  private throughput = 0;
  private allocationTimeMs = 80;
  private elapsed = 0;
  private lastScaling = -SCALING_PERIOD;
  private readonly scaling = new Map<string, { direction: string; reason: string; count: number }>();
  private readonly alerts = new Map<string, { level: string; source: string; count: number }>();
  private readonly alertLast = new Map<string, number>();

  constructor(private readonly rng: Random) {
    for (let i = 0; i < 6; i++) this.addWorker("active");
    // The coordinator has been up for a while: its totals do not start at zero.
    this.completedTotal = rng.int(20_000, 60_000);
    const history: Array<[string, string, number, number]> = [
      ["up", "high_utilization", 3, 12],
      ["up", "pending_tasks", 1, 6],
      ["down", "low_utilization", 3, 12],
    ];
    let decisions = 0;
    for (const [direction, reason, min, max] of history) {
      const count = rng.int(min, max);
      decisions += count;
      this.scaling.set(`${direction}/${reason}`, { direction, reason, count });
    }
    const alerts: Array<[string, string, number]> = [
      ["info", "scaling_manager", decisions],
      ["warning", "resource_monitor", rng.int(2, 10)],
      ["warning", "task_scheduler", rng.int(0, 4)],
      ["warning", "performance_analyzer", rng.int(1, 5)],
      ["critical", "worker_monitor", rng.int(0, 2)],
    ];
    for (const [level, source, count] of alerts) this.alerts.set(`${level}/${source}`, { level, source, count });
  }

  step(dt: number, o: DrmOverride | undefined, freeze: boolean): void {
    if (freeze) return;
    this.elapsed += dt;
    const rate = 2.6 * (1 + 0.7 * Math.sin((2 * Math.PI * this.elapsed) / 1800)) * (0.85 + 0.3 * this.rng.next());
    this.pending += poisson(this.rng, rate * dt);

    let completed = 0;
    for (const w of this.workers) {
      if (w.status === "starting" || w.status === "offline") {
        w.timer -= dt;
        if (w.timer <= 0) w.status = "active";
        continue;
      }
      const done = binomial(this.rng, w.tasks, 1 - Math.exp(-dt / MEAN_TASK_SECONDS));
      w.tasks -= done;
      completed += done;
      if (w.status === "active") {
        const take = Math.min(this.pending, TASK_SLOTS_PER_WORKER - w.tasks);
        w.tasks += take;
        this.pending -= take;
      }
      if (this.rng.chance(2e-5 * dt)) {
        // A worker dies: its tasks go back to the queue and it comes back after a restart.
        this.pending += w.tasks;
        w.tasks = 0;
        w.status = "offline";
        w.timer = 90;
        this.raise("critical", "worker_monitor", `offline:${w.id}`, 0);
      }
    }
    for (let i = this.workers.length - 1; i >= 0; i--) {
      const w = this.workers[i]!;
      if (w.status === "draining" && w.tasks === 0) this.workers.splice(i, 1);
    }
    this.completedTotal += completed;
    this.throughput += (completed / dt - this.throughput) * 0.2;

    for (const w of this.workers) {
      const load = w.status === "offline" || w.status === "starting" ? 0 : w.tasks / TASK_SLOTS_PER_WORKER;
      w.cpu = clamp(6 + 86 * load + 3 * this.rng.normal(), 0, 100);
      w.memory = clamp(18 + 62 * load + 2 * this.rng.normal(), 0, 100);
      w.gpu = w.hasGpu ? clamp(90 * load + 4 * this.rng.normal(), 0, 100) : 0;
    }
    const capacity = Math.max(1, this.activeCount() * TASK_SLOTS_PER_WORKER);
    this.allocationTimeMs = clamp(60 + 900 * (this.pending / (this.pending + capacity)) + 10 * this.rng.normal(), 5, 5000);

    this.scale(o);
    this.alertOnConditions(o);
  }

  private activeCount(): number {
    return this.workers.filter((w) => w.status === "active").length;
  }

  private addWorker(status: Worker["status"]): void {
    const id = `worker-${String(this.nextWorker++).padStart(2, "0")}`;
    this.workers.push({ id, status, tasks: 0, hasGpu: this.rng.chance(0.6), cpu: 5, memory: 18, gpu: 0, timer: 20 });
  }

  private scale(o: DrmOverride | undefined): void {
    if (o?.workers !== undefined) {
      // A pinned pool: grow or shrink to the size asked, no decisions recorded.
      while (this.workers.length < o.workers) this.addWorker("active");
      while (this.workers.length > o.workers) this.workers.pop();
      return;
    }
    if (this.elapsed - this.lastScaling < SCALING_PERIOD) return;
    const live = this.workers.filter((w) => w.status === "active");
    const cpu = this.avg(live.map((w) => w.cpu));
    const pending = o?.pendingTasks ?? this.pending;
    let decision: { direction: string; reason: string } | undefined;
    if (this.workers.length < MAX_WORKERS && pending > live.length * TASK_SLOTS_PER_WORKER) {
      decision = { direction: "up", reason: "pending_tasks" };
    } else if (this.workers.length < MAX_WORKERS && (o?.cpuUtilization ?? cpu) > 80) {
      decision = { direction: "up", reason: "high_utilization" };
    } else if (live.length > MIN_WORKERS && (o?.cpuUtilization ?? cpu) < 25 && pending === 0) {
      decision = { direction: "down", reason: "low_utilization" };
    }
    if (!decision) return;
    this.lastScaling = this.elapsed;
    if (decision.direction === "up") this.addWorker("starting");
    else {
      const victim = [...live].sort((a, b) => a.tasks - b.tasks)[0];
      if (victim) victim.status = "draining";
    }
    const key = `${decision.direction}/${decision.reason}`;
    const entry = this.scaling.get(key) ?? { ...decision, count: 0 };
    entry.count++;
    this.scaling.set(key, entry);
    this.raise("info", "scaling_manager", `scale:${key}`, 0);
  }

  private alertOnConditions(o: DrmOverride | undefined): void {
    const s = this.view(o);
    if (s.cpu_utilization_percent > 85) this.raise("warning", "resource_monitor", "cpu", ALERT_COOLDOWN);
    if (s.memory_utilization_percent > 90) this.raise("warning", "resource_monitor", "memory", ALERT_COOLDOWN);
    if (s.pending_tasks > 40) this.raise("warning", "task_scheduler", "backlog", ALERT_COOLDOWN);
    if (s.allocation_time_milliseconds > 500) this.raise("warning", "performance_analyzer", "allocation", ALERT_COOLDOWN);
    if (s.pending_tasks > 120) this.raise("critical", "task_scheduler", "backlog-critical", ALERT_COOLDOWN);
  }

  private raise(level: string, source: string, condition: string, cooldown: number): void {
    const last = this.alertLast.get(condition);
    if (last !== undefined && this.elapsed - last < cooldown) return;
    this.alertLast.set(condition, this.elapsed);
    const key = `${level}/${source}`;
    const entry = this.alerts.get(key) ?? { level, source, count: 0 };
    entry.count++;
    this.alerts.set(key, entry);
  }

  private avg(values: number[]): number {
    return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
  }

  /** The coordinator's snapshot, in the payload schema the HTTP source validates. */
  view(o: DrmOverride | undefined): DrmSnapshot {
    const counted = this.workers.filter((w) => w.status !== "offline");
    const busySlots = this.workers.reduce((n, w) => n + w.tasks, 0);
    const capacity = this.activeCount() * TASK_SLOTS_PER_WORKER;
    return {
      timestamp: this.elapsed,
      cpu_utilization_percent: round(o?.cpuUtilization ?? this.avg(counted.map((w) => w.cpu))),
      memory_utilization_percent: round(o?.memoryUtilization ?? this.avg(counted.map((w) => w.memory))),
      gpu_utilization_percent: round(o?.gpuUtilization ?? this.avg(counted.filter((w) => w.hasGpu).map((w) => w.gpu))),
      workers: this.workers.map((w) => ({
        worker_id: w.id,
        status: w.status,
        cpu_utilization_percent: round(w.cpu),
        memory_utilization_percent: round(w.memory),
        gpu_utilization_percent: round(w.gpu),
        tasks: w.tasks,
      })),
      active_tasks: busySlots,
      pending_tasks: o?.pendingTasks ?? this.pending,
      completed_tasks_total: this.completedTotal,
      task_throughput_per_second: round(this.throughput),
      allocation_time_milliseconds: round(o?.allocationTimeMs ?? this.allocationTimeMs),
      resource_efficiency_percent: round(capacity === 0 ? 0 : (100 * Math.min(busySlots, capacity)) / capacity),
      scaling_operations_total: [...this.scaling.values()].map((e) => ({ ...e })),
      alerts_total: [...this.alerts.values()].map((e) => ({ ...e })),
    };
  }
}

const round = (v: number): number => Math.round(v * 100) / 100;

function poisson(rng: Random, mean: number): number {
  // Knuth's method is fine for the small means of one tick.
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > limit && k < 1000) {
    k++;
    p *= rng.next();
  }
  return k;
}

function binomial(rng: Random, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (rng.chance(p)) k++;
  return k;
}
