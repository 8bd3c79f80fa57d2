import { agg, call, drm, exporterSelf, range, re, recorded, sel, type MetricDef } from "../metrics";
import type { Levels, PanelLevels } from "../metrics/thresholds";
import type { DashboardDef } from "./kit/dashboard";
import { orZero } from "./kit/expr";
import {
  barGaugePanel,
  falling,
  gaugePanel,
  GREEN,
  heatmapPanel,
  NEUTRAL,
  ORANGE,
  piePanel,
  RED,
  rising,
  statPanel,
  tablePanel,
  timeseriesPanel,
  UP_DOWN_MAPPINGS,
  ZERO_BAD,
  type Step,
} from "./kit/panels";
import { queryResultVariable } from "./kit/variables";
import { UID } from "./uids";


const WORKER = { worker_id: re("$worker") };
/**
 * The busiest workers over the range, listed by $top_workers. With no worker at all Grafana sends
 * "()" (or ""), which no worker_id matches, so an empty list reads nothing rather than everything.
 */
const TOP_WORKERS = { worker_id: re("$top_workers") };

/**
 * How many standard deviations the current value is from its mean over the baseline window.
 * The floor on the deviation keeps a flat baseline from dividing by zero (a flat line and an
 * equal value give 0, not NaN).
 */
export function zScore(metric: MetricDef, window: string): string {
  const mean = call("avg_over_time", range(metric, window));
  const sd = call("stddev_over_time", range(metric, window));
  return `(${sel(metric)} - ${mean}) / ${call("clamp_min", sd, 0.001)}`;
}

/** Throughput falling is the regression: red below -crit σ. */
const lowIsRegression = (z: Levels): readonly Step[] => [
  [RED, null],
  [ORANGE, -z.crit],
  [GREEN, -z.warn],
];
/** Allocation time rising is the regression: red above +crit σ. */
const highIsRegression = (z: Levels): readonly Step[] => rising(z.warn, z.crit);

/** Workers listed in the busiest-worker panels: enough to spot the hot ones, few enough to read. */
export const BUSIEST_WORKERS = 10;

/**
 * Utilisation across the workers alive, from the recorded min/avg/max: a week of churning workers
 * is one series each, far more than a chart can show or a load should read.
 */
function workerSpread(title: string, stats: MetricDef, what: string) {
  return timeseriesPanel({
    title,
    description: `${what} across the workers alive: highest, average and lowest. Pick workers in $worker for their own lines under Worker details.`,
    queries: [{ expr: sel(stats), legend: "{{stat}}" }],
    unit: "percent",
    min: 0,
    max: 100,
    width: 8,
  });
}

const busiest = (metric: MetricDef): string => call("topk", BUSIEST_WORKERS, sel(metric));
/** A worker figure for the busiest workers by CPU, so a table's rows line up. */
const ofBusiest = (metric: MetricDef): string => `${sel(metric)} and on(worker_id) ${busiest(drm.drm_worker_cpu_utilization_percent)}`;

export function drmDashboard(levels: PanelLevels): DashboardDef {
  const cpu = levels.drmCpuPercent;
  const z = levels.drmRegressionZScore;
  const baseline = levels.drmRegressionBaselineWindow;
  const allocation = levels.drmAllocationTimeMs;
  const workers = levels.drmWorkers;
  const pending = levels.drmPendingTasks;
  const scaling = drm.drm_scaling_operations_total;
  const alerts = drm.drm_alerts_total;
  return {
    uid: UID.drm,
    title: "DRM",
    description:
      "Is the Dynamic Resource Management coordinator keeping up? The six sections of the DRM integration guide: " +
      "system overview, resource utilisation across workers with a heatmap of the busiest, performance with regression indicators, " +
      "worker details, scaling operations with their reasons, and alerts by level and source.",
    tags: ["drm"],
    related: [UID.ds01Overview, UID.stackHealth],
    annotations: [
      {
        name: "Scaling operations",
        description: "Each scale-up or scale-down, with its reason, marked on every graph.",
        expr: `${agg("sum", call("increase", range(scaling, "2m")), ["direction", "reason"])} > 0`,
        title: "Scale {{direction}}",
        text: "{{reason}}",
        tagKeys: ["direction", "reason"],
        color: "purple",
      },
    ],
    variables: [
      // Workers alive at the end of the range, not every worker that ever existed, and one by
      // default: each worker is a series, and a week of churn holds thousands.
      queryResultVariable("worker", sel(drm.drm_worker_tasks), "worker_id", {
        label: "Worker",
        description: "DRM workers (alive now) to draw one line each for under Worker details.",
        multi: true,
      }),
      // Ranked once over the whole range, so the busiest-worker panel reads ten series, not every
      // worker that lived in the range. "All" is the ten listed, never any worker.
      queryResultVariable(
        "top_workers",
        call("topk", BUSIEST_WORKERS, call("avg_over_time", range(drm.drm_worker_cpu_utilization_percent, "$__range"))),
        "worker_id",
        {
          label: "Busiest workers",
          description: `The ${BUSIEST_WORKERS} workers with the highest average CPU over the time range, drawn in the busiest-workers heatmap.`,
          multi: true,
          includeAll: true,
          allIsOptions: true,
        },
      ),
    ],
    sections: [
      {
        title: "System overview",
        collapsed: false,
        panels: [
          statPanel({
            title: "Workers",
            description: `Workers the coordinator knows; fewer than ${workers.warn} with a queue is the guide's LowWorkerCount.`,
            queries: [{ expr: sel(drm.drm_worker_count), instant: true }],
            thresholds: falling(workers.crit, workers.warn),
            width: 3,
          }),
          statPanel({
            title: "Active workers",
            description: "Workers currently running tasks.",
            queries: [{ expr: sel(drm.drm_active_workers), instant: true }],
            thresholds: NEUTRAL,
            width: 3,
          }),
          statPanel({
            title: "Active tasks",
            description: "Tasks running now.",
            queries: [{ expr: sel(drm.drm_active_tasks), instant: true }],
            thresholds: NEUTRAL,
            sparkline: true,
            width: 3,
          }),
          statPanel({
            title: "Pending tasks",
            description: `Tasks waiting for a worker; above ${pending.crit} with few workers the guide pages.`,
            queries: [{ expr: sel(drm.drm_pending_tasks), instant: true }],
            thresholds: rising(pending.warn, pending.crit),
            sparkline: true,
            width: 3,
          }),
          gaugePanel({
            title: "CPU",
            description: `Cluster CPU utilisation (alert above ${cpu.crit}%).`,
            queries: [{ expr: sel(drm.drm_cpu_utilization_percent), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(cpu.warn, cpu.crit),
            width: 3,
          }),
          gaugePanel({
            title: "Memory",
            description: "Cluster memory utilisation.",
            queries: [{ expr: sel(drm.drm_memory_utilization_percent), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(levels.fixed.drmMemoryPercent.warn, levels.fixed.drmMemoryPercent.crit),
            width: 3,
          }),
          gaugePanel({
            title: "GPU",
            description: "Cluster GPU utilisation.",
            queries: [{ expr: sel(drm.drm_gpu_utilization_percent), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(levels.fixed.drmGpuPercent.warn, levels.fixed.drmGpuPercent.crit),
            width: 3,
          }),
          statPanel({
            title: "DRM source",
            description: "Whether the exporter's last read of the DRM coordinator succeeded.",
            queries: [{ expr: sel(exporterSelf.ds01_exporter_source_up, { source: "drm" }), instant: true }],
            mappings: UP_DOWN_MAPPINGS,
            thresholds: ZERO_BAD,
            width: 3,
          }),
        ],
      },
      {
        title: "Resource utilisation",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Cluster utilisation",
            description: `CPU, memory and GPU utilisation across all workers; dashed lines at ${cpu.warn}% and ${cpu.crit}%.`,
            queries: [
              { expr: sel(drm.drm_cpu_utilization_percent), legend: "CPU" },
              { expr: sel(drm.drm_memory_utilization_percent), legend: "memory" },
              { expr: sel(drm.drm_gpu_utilization_percent), legend: "GPU" },
            ],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(cpu.warn, cpu.crit),
            thresholdLines: true,
          }),
          timeseriesPanel({
            title: "Utilisation anomalies",
            description: `Standard deviations from the ${baseline} mean; beyond ±${z.crit} the value is unusual for this cluster.`,
            queries: [
              { expr: zScore(drm.drm_cpu_utilization_percent, baseline), legend: "CPU" },
              { expr: zScore(drm.drm_memory_utilization_percent, baseline), legend: "memory" },
              { expr: zScore(drm.drm_gpu_utilization_percent, baseline), legend: "GPU" },
            ],
            unit: "none",
            thresholds: [
              [RED, null],
              [ORANGE, -z.crit],
              [GREEN, -z.warn],
              [ORANGE, z.warn],
              [RED, z.crit],
            ],
            thresholdLines: true,
          }),
          workerSpread("CPU across workers", recorded["drm:worker_cpu_utilization_percent:stats"], "CPU utilisation"),
          workerSpread("Memory across workers", recorded["drm:worker_memory_utilization_percent:stats"], "Memory utilisation"),
          workerSpread("GPU across workers", recorded["drm:worker_gpu_utilization_percent:stats"], "GPU utilisation"),
          heatmapPanel({
            title: "Busiest workers (CPU over the range)",
            description: `CPU utilisation of the ${BUSIEST_WORKERS} workers with the highest average over the time range, one row each (listed in $top_workers); hot rows are overloaded workers.`,
            queries: [{ expr: sel(drm.drm_worker_cpu_utilization_percent, TOP_WORKERS), legend: "{{worker_id}}" }],
            unit: "percent",
            min: 0,
            max: 100,
            width: 24,
          }),
        ],
      },
      {
        title: "Performance",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Task throughput",
            description: `Tasks per second as DRM reports it, the completed-task rate, and the ${baseline} baseline.`,
            queries: [
              { expr: sel(drm.drm_task_throughput_per_second), legend: "reported" },
              { expr: call("rate", range(drm.drm_completed_tasks_total, "$__rate_interval")), legend: "completed" },
              { expr: call("avg_over_time", range(drm.drm_task_throughput_per_second, baseline)), legend: "baseline" },
            ],
            unit: "ops",
          }),
          timeseriesPanel({
            title: "Allocation time",
            description: `Time to allocate resources to a task; the guide alerts above ${allocation.crit} ms.`,
            queries: [
              { expr: sel(drm.drm_allocation_time_milliseconds), legend: "allocation time" },
              { expr: call("avg_over_time", range(drm.drm_allocation_time_milliseconds, baseline)), legend: "baseline" },
            ],
            unit: "ms",
            thresholds: rising(allocation.warn, allocation.crit),
            thresholdLines: true,
          }),
          gaugePanel({
            title: "Resource efficiency",
            description: "How much of the allocated resources tasks actually use.",
            queries: [{ expr: sel(drm.drm_resource_efficiency_percent), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: falling(levels.fixed.drmResourceEfficiencyPercent.crit, levels.fixed.drmResourceEfficiencyPercent.warn),
            width: 6,
          }),
          statPanel({
            title: "Throughput regression (z)",
            description: `Current throughput against its ${baseline} baseline, in standard deviations; below -${z.crit} is a regression.`,
            queries: [{ expr: zScore(drm.drm_task_throughput_per_second, baseline), instant: true }],
            decimals: 1,
            thresholds: lowIsRegression(z),
            sparkline: true,
            width: 6,
          }),
          statPanel({
            title: "Allocation-time regression (z)",
            description: `Current allocation time against its ${baseline} baseline; above +${z.crit} is a regression.`,
            queries: [{ expr: zScore(drm.drm_allocation_time_milliseconds, baseline), instant: true }],
            decimals: 1,
            thresholds: highIsRegression(z),
            sparkline: true,
            width: 6,
          }),
          timeseriesPanel({
            title: "Efficiency trend",
            description: "Resource efficiency and its change per hour (linear fit over 30 minutes).",
            queries: [
              { expr: sel(drm.drm_resource_efficiency_percent), legend: "efficiency" },
              { expr: `${call("deriv", range(drm.drm_resource_efficiency_percent, "30m"))} * 3600`, legend: "change per hour" },
            ],
            unit: "percent",
            width: 6,
          }),
        ],
      },
      {
        title: "Worker details",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Worker CPU",
            description: "CPU utilisation of the workers picked in $worker.",
            queries: [{ expr: sel(drm.drm_worker_cpu_utilization_percent, WORKER), legend: "{{worker_id}}" }],
            unit: "percent",
            min: 0,
            max: 100,
            width: 8,
          }),
          timeseriesPanel({
            title: "Worker memory",
            description: "Memory utilisation of the workers picked in $worker.",
            queries: [{ expr: sel(drm.drm_worker_memory_utilization_percent, WORKER), legend: "{{worker_id}}" }],
            unit: "percent",
            min: 0,
            max: 100,
            width: 8,
          }),
          timeseriesPanel({
            title: "Worker GPU",
            description: "GPU utilisation of the workers picked in $worker.",
            queries: [{ expr: sel(drm.drm_worker_gpu_utilization_percent, WORKER), legend: "{{worker_id}}" }],
            unit: "percent",
            min: 0,
            max: 100,
            width: 8,
          }),
          barGaugePanel({
            title: "Tasks per worker",
            description: `How tasks are spread over the workers right now: the ${BUSIEST_WORKERS} with the most.`,
            queries: [{ expr: busiest(drm.drm_worker_tasks), legend: "{{worker_id}}", instant: true }],
            unit: "short",
            min: 0,
            width: 8,
          }),
          tablePanel({
            title: "Workers",
            description: `Current CPU, memory and GPU utilisation and task count of the ${BUSIEST_WORKERS} workers with the most CPU.`,
            queries: [
              { expr: busiest(drm.drm_worker_cpu_utilization_percent), table: true },
              { expr: ofBusiest(drm.drm_worker_memory_utilization_percent), table: true },
              { expr: ofBusiest(drm.drm_worker_gpu_utilization_percent), table: true },
              { expr: ofBusiest(drm.drm_worker_tasks), table: true },
            ],
            merge: true,
            hideColumns: ["job", "instance"],
            renameColumns: {
              worker_id: "Worker",
              "Value #A": "CPU %",
              "Value #B": "Memory %",
              "Value #C": "GPU %",
              "Value #D": "Tasks",
            },
            decimals: 0,
            width: 10,
          }),
          barGaugePanel({
            title: "Busiest workers (CPU)",
            description: "The five workers with the highest CPU utilisation.",
            queries: [
              { expr: call("topk", 5, sel(drm.drm_worker_cpu_utilization_percent)), legend: "{{worker_id}}", instant: true },
            ],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(cpu.warn, cpu.crit),
            width: 6,
          }),
        ],
      },
      {
        title: "Scaling operations",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Scaling decisions",
            description: "Scale-ups and scale-downs in each interval, by reason.",
            queries: [
              {
                expr: agg("sum", call("increase", range(scaling, "$__rate_interval")), ["direction", "reason"]),
                legend: "{{direction}}: {{reason}}",
              },
            ],
            unit: "short",
            bars: true,
            stack: true,
            expectData: false,
          }),
          timeseriesPanel({
            title: "Workers and utilisation",
            description: "Worker count against cluster CPU utilisation (right axis), to see what each scaling step followed.",
            queries: [
              { expr: sel(drm.drm_worker_count), legend: "workers" },
              { expr: sel(drm.drm_active_workers), legend: "active workers" },
              { expr: sel(drm.drm_pending_tasks), legend: "pending tasks" },
              { expr: sel(drm.drm_cpu_utilization_percent), legend: "CPU %" },
            ],
            unit: "short",
            rightAxis: { queries: [3], unit: "percent" },
          }),
          piePanel({
            title: "Scaling reasons",
            description: "Why the coordinator scaled over the dashboard's time range.",
            queries: [
              { expr: agg("sum", call("increase", range(scaling, "$__range")), ["reason"]), legend: "{{reason}}", instant: true },
            ],
            expectData: false,
            width: 12,
          }),
          statPanel({
            title: "Scale-ups in range",
            description: "Scale-up operations over the dashboard's time range.",
            queries: [{ expr: orZero(agg("sum", call("increase", range(scaling, "$__range", { direction: "up" })))), instant: true }],
            decimals: 0,
            thresholds: NEUTRAL,
            width: 6,
            height: 8,
          }),
          statPanel({
            title: "Scale-downs in range",
            description: "Scale-down operations over the dashboard's time range.",
            queries: [{ expr: orZero(agg("sum", call("increase", range(scaling, "$__range", { direction: "down" })))), instant: true }],
            decimals: 0,
            thresholds: NEUTRAL,
            width: 6,
            height: 8,
          }),
        ],
      },
      {
        title: "Alerts and notifications",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Alerts by level",
            description: "DRM alerts raised in each interval, by severity level.",
            queries: [{ expr: agg("sum", call("increase", range(alerts, "$__rate_interval")), ["level"]), legend: "{{level}}" }],
            unit: "short",
            bars: true,
            stack: true,
            expectData: false,
          }),
          timeseriesPanel({
            title: "Alert rate",
            description: "DRM alerts per minute, by level.",
            queries: [{ expr: `${agg("sum", call("rate", range(alerts, "$__rate_interval")), ["level"])} * 60`, legend: "{{level}}" }],
            unit: "short",
            expectData: false,
            width: 6,
          }),
          piePanel({
            title: "Alerts by source",
            description: "Which part of DRM raised the alerts over the dashboard's time range.",
            queries: [{ expr: agg("sum", call("increase", range(alerts, "$__range")), ["source"]), legend: "{{source}}", instant: true }],
            expectData: false,
            width: 6,
          }),
        ],
      },
    ],
  };
}
