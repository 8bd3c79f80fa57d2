import { agg, call, drm, recorded, sel } from "../../metrics";
import type { RuleContext } from "../context";
import { alert, durationMs, humanized, input, num, record, type AlertingRule, type InputSeries, type RuleGroup, type RuleSet } from "../model";

/**
 * DRM: the three alerts of the DRM integration guide under their own names, regression detection
 * as the dashboard guide describes it (the recent window against a baseline, as a z-score), and
 * linear forecasts of capacity running out.
 */

type Gauge = (typeof drm)["drm_task_throughput_per_second" | "drm_allocation_time_milliseconds"];

interface RegressionSeries {
  readonly metric: Gauge;
  readonly baselineAvg: string;
  readonly baselineStddev: string;
  readonly zscore: string;
}

const THROUGHPUT: RegressionSeries = {
  metric: drm.drm_task_throughput_per_second,
  baselineAvg: recorded["drm:task_throughput_per_second:baseline_avg"].name,
  baselineStddev: recorded["drm:task_throughput_per_second:baseline_stddev"].name,
  zscore: recorded["drm:task_throughput_per_second:zscore"].name,
};
const ALLOCATION_TIME: RegressionSeries = {
  metric: drm.drm_allocation_time_milliseconds,
  baselineAvg: recorded["drm:allocation_time_milliseconds:baseline_avg"].name,
  baselineStddev: recorded["drm:allocation_time_milliseconds:baseline_stddev"].name,
  zscore: recorded["drm:allocation_time_milliseconds:zscore"].name,
};

function regressionRecording(ctx: RuleContext, s: RegressionSeries) {
  const t = ctx.thresholds.drm;
  const baseline = `${s.metric.name}[${t.regressionBaselineWindow}] offset ${t.regressionWindow}`;
  const enough = `(${call("count_over_time", baseline)} >= ${num(t.regressionMinSamples)})`;
  // The baseline's spread has a floor relative to its mean: a flat baseline must not turn noise into a huge z.
  const floor = `${call("abs", s.baselineAvg)} * ${num(t.regressionMinRelativeStddev)}`;
  return [
    record(s.baselineAvg, `${call("avg_over_time", baseline)} and ${enough}`),
    record(s.baselineStddev, `${call("stddev_over_time", baseline)} and ${enough}`),
    record(
      s.zscore,
      `(${call("avg_over_time", `${s.metric.name}[${t.regressionWindow}]`)} - ${s.baselineAvg}) / ((${s.baselineStddev} > ${floor}) or (${floor} > 0))`,
    ),
  ];
}

/**
 * Lowest, average and highest utilisation across the workers alive: what the dashboard draws by
 * default, so a week of churning workers (one series each) is read once per evaluation, not per load.
 */
const WORKER_STATS = [
  [drm.drm_worker_cpu_utilization_percent, recorded["drm:worker_cpu_utilization_percent:stats"].name],
  [drm.drm_worker_memory_utilization_percent, recorded["drm:worker_memory_utilization_percent:stats"].name],
  [drm.drm_worker_gpu_utilization_percent, recorded["drm:worker_gpu_utilization_percent:stats"].name],
] as const;

export function drmRecordingGroups(ctx: RuleContext): RuleGroup[] {
  return [
    { name: "drm_regression", interval: "30s", rules: [...regressionRecording(ctx, THROUGHPUT), ...regressionRecording(ctx, ALLOCATION_TIME)] },
    {
      name: "drm_worker_stats",
      interval: "30s",
      rules: WORKER_STATS.flatMap(([metric, name]) => (["min", "avg", "max"] as const).map((stat) => record(name, agg(stat, sel(metric)), { stat }))),
    },
  ];
}

function guideAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.drm;
  const target = { instance: "ds01-exporter:9101", job: ctx.jobs.exporter };
  const cpu = (v: number) => input(drm.drm_cpu_utilization_percent, target, `${num(v)}x20`);
  const workers = (n: number, pending: number) => [
    input(drm.drm_worker_count, target, `${num(n)}x20`),
    input(drm.drm_pending_tasks, target, `${num(pending)}x20`),
  ];
  const alloc = (ms: number) => input(drm.drm_allocation_time_milliseconds, target, `${num(ms)}x20`);
  const hotCpu = Math.min(100, t.cpuUtilizationPercent + 5);
  const fewWorkers = Math.max(0, Math.ceil(t.minWorkers) - 1);
  return [
    alert({
      alert: "HighCPUUtilization",
      expr: `${sel(drm.drm_cpu_utilization_percent)} > ${num(t.cpuUtilizationPercent)}`,
      for: "5m",
      severity: "warning",
      summary: "High CPU utilization detected",
      description: `DRM CPU utilisation across workers is {{ $value | humanize }}%, over ${num(t.cpuUtilizationPercent)}%.`,
      condition: "DRM's CPU utilisation across workers above the limit",
      thresholds: { "drm.cpuUtilizationPercent": t.cpuUtilizationPercent },
      cases: [
        {
          name: "busy CPUs fire",
          input: [cpu(hotCpu)],
          at: "10m",
          expect: [{ labels: target, summary: "High CPU utilization detected", description: `DRM CPU utilisation across workers is ${humanized(hotCpu)}%, over ${num(t.cpuUtilizationPercent)}%.` }],
        },
        { name: "moderate load stays quiet", input: [cpu(t.cpuUtilizationPercent / 2)], at: "10m", expect: [] },
      ],
    }),
    alert({
      alert: "LowWorkerCount",
      expr: `${sel(drm.drm_worker_count)} < ${num(t.minWorkers)} and ${sel(drm.drm_pending_tasks)} > ${num(t.pendingTasks)}`,
      for: "2m",
      severity: "critical",
      summary: "Worker shortage detected",
      description: `Only {{ $value }} DRM workers with over ${num(t.pendingTasks)} tasks pending.`,
      condition: "fewer workers than the minimum while tasks queue up",
      thresholds: { "drm.minWorkers": t.minWorkers, "drm.pendingTasks": t.pendingTasks },
      cases: [
        {
          name: "few workers and a queue fire",
          input: workers(fewWorkers, t.pendingTasks + 10),
          at: "5m",
          expect: [{ labels: target, summary: "Worker shortage detected", description: `Only ${num(fewWorkers)} DRM workers with over ${num(t.pendingTasks)} tasks pending.` }],
        },
        { name: "few workers without a queue stay quiet", input: workers(fewWorkers, 0), at: "5m", expect: [] },
      ],
    }),
    alert({
      alert: "HighAllocationTime",
      expr: `${sel(drm.drm_allocation_time_milliseconds)} > ${num(t.allocationTimeMs)}`,
      for: "5m",
      severity: "warning",
      summary: "Slow resource allocation",
      description: `Resource allocation takes {{ $value | humanize }}ms, over ${num(t.allocationTimeMs)}ms.`,
      condition: "DRM's resource allocation time above the limit",
      thresholds: { "drm.allocationTimeMs": t.allocationTimeMs },
      cases: [
        {
          name: "slow allocation fires",
          input: [alloc(t.allocationTimeMs * 1.5)],
          at: "10m",
          expect: [{ labels: target, summary: "Slow resource allocation", description: `Resource allocation takes ${humanized(t.allocationTimeMs * 1.5)}ms, over ${num(t.allocationTimeMs)}ms.` }],
        },
        { name: "fast allocation stays quiet", input: [alloc(t.allocationTimeMs / 2)], at: "10m", expect: [] },
      ],
    }),
  ];
}

/** `count` samples alternating around `center` by ±`noise`, one a minute. */
const noisy = (center: number, noise: number, count: number) =>
  Array.from({ length: count }, (_, i) => num(i % 2 ? center + noise : center - noise)).join(" ");

function regressionAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.drm;
  const z = t.regressionZScore;
  const target = { instance: "ds01-exporter:9101", job: ctx.jobs.exporter };
  const historyMin = Math.ceil(durationMs(t.regressionBaselineWindow) / 60_000) + Math.ceil(durationMs(t.regressionWindow) / 60_000);
  const recentMin = Math.ceil(durationMs(t.regressionWindow) / 60_000);
  // Evaluated when the shift has filled the recent window; later, the baseline absorbs the shift.
  const at = `${historyMin + recentMin}m`;
  // Samples so sparse that the baseline holds fewer than the minimum, with one shifted sample recent.
  const baselineMin = Math.ceil(durationMs(t.regressionBaselineWindow) / 60_000);
  const sparseInterval = Math.max(recentMin, Math.ceil(baselineMin / Math.max(1, t.regressionMinSamples - 4)));
  const sparseCount = Math.ceil(baselineMin / sparseInterval) + 2;
  const sparse = { interval: sparseInterval, count: sparseCount, at: `${sparseCount * sparseInterval + Math.ceil(sparseInterval / 2) + 1}m` };
  const series = (metric: Gauge, before: string, after: string): InputSeries => input(metric, target, `${before} ${after}`);
  const regression = (name: string, s: RegressionSeries, word: "below" | "above", shifted: (base: number, noise: number) => number) => {
    const base = 100;
    const noise = Math.max(1, base * t.regressionMinRelativeStddev);
    const metric = s.metric;
    const description = `${metric === drm.drm_task_throughput_per_second ? "Task throughput" : "Allocation time"} over the last ${t.regressionWindow} is more than ${num(z)} standard deviations ${word} its ${t.regressionBaselineWindow} baseline.`;
    const summary = `DRM ${metric === drm.drm_task_throughput_per_second ? "throughput" : "allocation time"} regression`;
    return alert({
      alert: name,
      expr: `${s.zscore} ${word === "below" ? "<" : ">"} ${word === "below" ? "-" : ""}${num(z)}`,
      for: "5m",
      severity: "warning",
      summary,
      description,
      condition: `the recent window's average ${num(z)} baseline standard deviations ${word} the baseline average (enough baseline samples only)`,
      thresholds: {
        "drm.regressionZScore": z,
        "drm.regressionWindow": t.regressionWindow,
        "drm.regressionBaselineWindow": t.regressionBaselineWindow,
        "drm.regressionMinSamples": t.regressionMinSamples,
      },
      cases: [
        {
          name: "a sustained shift from a noisy baseline fires",
          input: [series(metric, noisy(base, noise, historyMin), `${num(shifted(base, noise))}x${recentMin + 10}`)],
          at,
          expect: [{ labels: target, summary, description }],
        },
        {
          name: "noise around a steady baseline stays quiet",
          input: [series(metric, noisy(base, noise, historyMin), noisy(base, noise, recentMin + 11))],
          at,
          expect: [],
        },
        {
          name: "a shift from too few baseline samples stays quiet",
          interval: `${sparse.interval}m`,
          input: [series(metric, noisy(base, noise, sparse.count), `${num(shifted(base, noise))}x5`)],
          at: sparse.at,
          expect: [],
        },
      ],
    });
  };
  return [
    regression("DRMThroughputRegression", THROUGHPUT, "below", (b, n) => Math.max(0, b - 6 * z * n)),
    regression("DRMAllocationTimeRegression", ALLOCATION_TIME, "above", (b, n) => b + 6 * z * n),
  ];
}

function forecastAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.drm;
  const target = { instance: "ds01-exporter:9101", job: ctx.jobs.exporter };
  const horizon = num(durationMs(t.capacityForecastHorizon) / 1000);
  const fit = t.capacityForecastWindow;
  const fitMin = Math.ceil(durationMs(fit) / 60_000);
  const horizonMin = durationMs(t.capacityForecastHorizon) / 60_000;
  // A line that stays under the limit now but crosses it within the horizon.
  const start = Math.max(0, t.capacityCpuPercent - 40);
  const slope = (t.capacityCpuPercent - start) / (fitMin + 10 + horizonMin / 2);
  const workers = 4;
  const backlogLimit = workers * t.capacityPendingPerWorker;
  const backlogSlope = backlogLimit / (fitMin + 10 + horizonMin / 2);
  return [
    alert({
      alert: "DRMCapacityExhaustionForecast",
      expr: `${call("predict_linear", `${drm.drm_cpu_utilization_percent.name}[${fit}]`, horizon)} > ${num(t.capacityCpuPercent)}`,
      for: "10m",
      severity: "warning",
      summary: "DRM CPU capacity forecast to run out",
      description: `At the trend of the last ${fit}, DRM CPU utilisation passes ${num(t.capacityCpuPercent)}% within ${t.capacityForecastHorizon}.`,
      condition: "CPU utilisation extrapolated linearly over the forecast horizon above the limit",
      thresholds: { "drm.capacityCpuPercent": t.capacityCpuPercent, "drm.capacityForecastHorizon": t.capacityForecastHorizon, "drm.capacityForecastWindow": fit },
      cases: [
        {
          name: "a steady climb fires before the limit is reached",
          input: [input(drm.drm_cpu_utilization_percent, target, `${num(start)}+${num(slope)}x${fitMin + 30}`)],
          at: `${fitMin + 10}m`,
          expect: [
            {
              labels: target,
              summary: "DRM CPU capacity forecast to run out",
              description: `At the trend of the last ${fit}, DRM CPU utilisation passes ${num(t.capacityCpuPercent)}% within ${t.capacityForecastHorizon}.`,
            },
          ],
        },
        { name: "flat utilisation stays quiet", input: [input(drm.drm_cpu_utilization_percent, target, `${num(start)}x${fitMin + 30}`)], at: `${fitMin + 10}m`, expect: [] },
      ],
    }),
    alert({
      alert: "DRMTaskBacklogForecast",
      expr: `${call("predict_linear", `${drm.drm_pending_tasks.name}[${fit}]`, horizon)} > ${sel(drm.drm_worker_count)} * ${num(t.capacityPendingPerWorker)}`,
      for: "10m",
      severity: "info",
      summary: "DRM task backlog growing",
      description: `At the trend of the last ${fit}, pending tasks pass ${num(t.capacityPendingPerWorker)} per worker within ${t.capacityForecastHorizon}.`,
      condition: "pending tasks extrapolated linearly over the forecast horizon above a number per worker",
      thresholds: { "drm.capacityPendingPerWorker": t.capacityPendingPerWorker, "drm.capacityForecastHorizon": t.capacityForecastHorizon },
      cases: [
        {
          name: "a growing queue fires",
          input: [
            input(drm.drm_pending_tasks, target, `0+${num(backlogSlope)}x${fitMin + 30}`),
            input(drm.drm_worker_count, target, `${workers}x${fitMin + 30}`),
          ],
          at: `${fitMin + 10}m`,
          expect: [
            {
              labels: target,
              summary: "DRM task backlog growing",
              description: `At the trend of the last ${fit}, pending tasks pass ${num(t.capacityPendingPerWorker)} per worker within ${t.capacityForecastHorizon}.`,
            },
          ],
        },
        {
          name: "a steady queue stays quiet",
          input: [input(drm.drm_pending_tasks, target, `${num(backlogLimit / 2)}x${fitMin + 30}`), input(drm.drm_worker_count, target, `${workers}x${fitMin + 30}`)],
          at: `${fitMin + 10}m`,
          expect: [],
        },
      ],
    }),
  ];
}

export function drmRuleSet(ctx: RuleContext): RuleSet {
  return {
    id: "drm",
    title: "DRM",
    recording: drmRecordingGroups(ctx),
    alerting: [
      { name: "DRM_Alerts", interval: "30s", rules: guideAlerts(ctx) },
      { name: "drm_regression_alerts", interval: "30s", rules: regressionAlerts(ctx) },
      { name: "drm_capacity_alerts", interval: "1m", rules: forecastAlerts(ctx) },
    ],
  };
}
