import { agg, call, ds01, recorded, sel } from "../metrics";
import type { PanelLevels } from "../metrics/thresholds";
import type { DashboardDef } from "./kit/dashboard";
import { orZero } from "./kit/expr";
import { NEUTRAL, rising, statPanel, tablePanel, timeseriesPanel } from "./kit/panels";
import { UID } from "./uids";

/**
 * Hours over the dashboard's range from a recording of what is held now: the recording sampled
 * at Grafana's interval (a subquery, so the result does not depend on the rule's evaluation
 * interval and a month costs about a thousand points a series), each sample worth one interval.
 */
const hoursHeld = (recording: string, by: readonly string[]) =>
  `${agg("sum", call("sum_over_time", `${recording}[$__range:$__interval]`), by)} * $__interval_ms / 3600000`;
/** CPU-hours over the range from the cgroup CPU-time counters. */
const cpuHours = (by: readonly string[]) => `${agg("sum", call("increase", `${sel(ds01.ds01_user_cpu_usage_seconds_total)}[$__range]`), by)} / 3600`;

/** A ranking table: one row per user or group, largest first. */
const hoursTable = (title: string, description: string, expr: string, by: "user" | "group", valueTitle: string) =>
  tablePanel({
    title,
    description,
    queries: [{ expr: call("sort_desc", expr), instant: true, table: true }],
    renameColumns: { [by]: by === "user" ? "User" : "Group", Value: valueTitle },
    valueColumn: valueTitle,
    decimals: 1,
    thresholds: NEUTRAL,
  });

const userGpuEq = recorded["ds01:user_gpu_equivalents"].name;
const groupGpuEq = recorded["ds01:group_gpu_equivalents"].name;

/**
 * DS01's monthly and historical views: who used how much GPU and CPU over the range (a month by
 * default), by user and by group, how allocation, waste and activity moved, and how often the
 * lifecycle enforcement stepped in. GPU-hours are GPU-equivalent hours: a full GPU for an hour is
 * 1, a MIG 1g instance 1/7.
 */
export function ds01History(levels: PanelLevels): DashboardDef {
  return {
    uid: UID.ds01History,
    title: "DS01 Usage History",
    description:
      "Who used the GPU server, and how much, over the last month? GPU- and CPU-hours per user and group, " +
      "active users, allocation and waste trends, and lifecycle enforcement over time.",
    tags: ["ds01", "gpu", "history"],
    related: [UID.ds01Overview, UID.ds01User],
    variables: [],
    timeFrom: "now-30d",
    refresh: "5m",
    sections: [
      {
        title: "This period",
        collapsed: false,
        panels: [
          statPanel({
            title: "GPU-hours",
            description: "GPU-equivalent hours allocated over the range, all users.",
            queries: [{ expr: hoursHeld(userGpuEq, []), instant: true }],
            decimals: 1,
            thresholds: NEUTRAL,
            width: 5,
          }),
          statPanel({
            title: "CPU-hours",
            description: "CPU time of DS01's user slices over the range (cgroup v2), in hours.",
            queries: [{ expr: cpuHours([]), instant: true }],
            decimals: 1,
            thresholds: NEUTRAL,
            width: 5,
          }),
          statPanel({
            title: "Active GPU users",
            description: "Users who held a GPU or MIG slot at some point in the range.",
            queries: [{ expr: orZero(agg("count", `${call("max_over_time", `${userGpuEq}[$__range]`)} > 0`)), instant: true }],
            thresholds: NEUTRAL,
            width: 5,
          }),
          statPanel({
            title: "Group members",
            description: "Members of DS01's groups now (the .members files).",
            queries: [{ expr: agg("sum", sel(ds01.ds01_group_members_total)), instant: true }],
            thresholds: NEUTRAL,
            width: 5,
          }),
          statPanel({
            title: "Enforcement, last 24 h",
            description: "Lifecycle enforcement events (idle, runtime and OOM kills, warnings) in the last 24 hours.",
            queries: [{ expr: agg("sum", sel(ds01.ds01_lifecycle_events_total)), instant: true }],
            thresholds: NEUTRAL,
            width: 4,
          }),
        ],
      },
      {
        title: "By user and group",
        collapsed: false,
        panels: [
          hoursTable("GPU-hours per user", "GPU-equivalent hours each user held over the range.", hoursHeld(userGpuEq, ["user"]), "user", "GPU-hours"),
          hoursTable("CPU-hours per user", "CPU time of each user's DS01 slice over the range.", cpuHours(["user"]), "user", "CPU-hours"),
          hoursTable("GPU-hours per group", "GPU-equivalent hours held by each group's members over the range.", hoursHeld(groupGpuEq, ["group"]), "group", "GPU-hours"),
          hoursTable("CPU-hours per group", "CPU time of each group's user slices over the range.", cpuHours(["group"]), "group", "CPU-hours"),
        ],
      },
      {
        title: "Trends",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "GPU-equivalents allocated",
            description: "Allocated against the host's physical GPUs.",
            queries: [
              { expr: sel(recorded["ds01:system_gpu_equivalents_allocated"]), legend: "allocated" },
              { expr: sel(recorded["ds01:system_gpu_equivalents_total"]), legend: "physical GPUs" },
            ],
            unit: "short",
            min: 0,
            thresholds: NEUTRAL,
          }),
          timeseriesPanel({
            title: "Waste",
            description: `Share of allocated slots below ${levels.gpuUtilisationPercent.crit}% utilisation.`,
            queries: [{ expr: sel(recorded["ds01:gpu_waste_percent"]), legend: "wasted" }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(levels.systemGpuWastePercent.warn, levels.systemGpuWastePercent.crit),
          }),
          timeseriesPanel({
            title: "Active users",
            description: "Users holding at least one slot.",
            queries: [{ expr: sel(recorded["ds01:system_active_users"]), legend: "users" }],
            unit: "short",
            min: 0,
            thresholds: NEUTRAL,
          }),
          timeseriesPanel({
            title: "GPU utilisation",
            description: "Average utilisation over all GPUs and MIG instances.",
            queries: [{ expr: sel(recorded["ds01:system_gpu_utilization_avg"]), legend: "average" }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: NEUTRAL,
          }),
        ],
      },
      {
        title: "Lifecycle enforcement",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Enforcement actions (24 h window)",
            description: "Idle and runtime kills, OOM kills and warnings in the 24 hours before each point, by action.",
            queries: [{ expr: agg("sum", sel(ds01.ds01_lifecycle_events_total), ["action"]), legend: "{{action}}" }],
            unit: "short",
            min: 0,
            thresholds: NEUTRAL,
            width: 24,
          }),
        ],
      },
    ],
  };
}
