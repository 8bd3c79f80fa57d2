import { agg, call, ds01, range, re, recorded, sel } from "../metrics";
import { CONTAINER_CPU, CONTAINER_MEMORY, CONTAINER_MEMORY_LIMIT, cpuOverRange, listedIn, memoryOverRange, TOP_CONTAINERS, topContainersVariable } from "./containers";
import type { PanelLevels } from "../metrics/thresholds";
import type { DashboardDef } from "./kit/dashboard";
import { orZero, topkOverRange } from "./kit/expr";
import { falling, gaugePanel, NEUTRAL, rising, statPanel, tablePanel, timeseriesPanel } from "./kit/panels";
import { labelValuesVariable, type VariableDef } from "./kit/variables";
import { UID } from "./uids";

const USER = "$user";

/**
 * cAdvisor names a container by its Docker name, which DS01 reports as `container`: the user's
 * DS01 containers as `name` series, to join cAdvisor's with.
 */
const named = (allocated: string) => agg("group", `label_replace(${allocated}, "name", "$1", "container", "(.+)")`, ["name"]);
/** Every container the user held a GPU with in the range, so the ranking sees the whole range. */
const mineInRange = named(call("last_over_time", range(ds01.ds01_gpu_allocated, "$__range", { user: USER })));
const mine = (ranking: string) => `${ranking} * on(name) group_left() ${mineInRange}`;

const topCpu = topContainersVariable(
  "top_containers_cpu",
  mine(cpuOverRange),
  "My busiest containers (CPU)",
  `My ${TOP_CONTAINERS} GPU containers with the highest average CPU over the time range, drawn in CPU per container.`,
);
const topMemory = topContainersVariable(
  "top_containers_memory",
  mine(memoryOverRange),
  "My largest containers (memory)",
  `My ${TOP_CONTAINERS} GPU containers with the largest working set over the time range, drawn in the memory panels.`,
);

/**
 * `perStep` for the containers a variable lists, at the steps where the user held a GPU with
 * them: the variable's names are the user's, and the join keeps a name another user's container
 * had at other times out of the chart.
 */
function whileMine(perStep: string, listed: VariableDef): string {
  return `${perStep} * on(name) group_left() ${named(sel(ds01.ds01_gpu_allocated, { user: USER, container: re(`$${listed.name}`) }))}`;
}

const memoryNow = agg("sum", sel(CONTAINER_MEMORY, listedIn(topMemory)), ["name"]);

export function ds01User(levels: PanelLevels): DashboardDef {
  const util = levels.gpuUtilisationPercent;
  const userUtil = levels.userGpuUtilisationPercent;
  const memory = levels.gpuMemoryPercent;
  return {
    uid: UID.ds01User,
    title: "DS01 My Usage",
    description:
      "What am I holding and am I using it? A researcher's GPU-equivalents, slots and containers, " +
      "their utilisation now and over time, and the CPU and memory of their containers.",
    tags: ["ds01", "gpu", "user"],
    related: [UID.ds01Overview, UID.ds01History, UID.nvidiaDcgm],
    variables: [
      labelValuesVariable("user", ds01.ds01_gpu_allocated, "user", {
        label: "User",
        description: "A DS01 user holding at least one GPU or MIG slot.",
      }),
      // Ranked once over the whole range, so each container panel reads ten series, not every
      // container that lived in the range.
      topCpu,
      topMemory,
    ],
    sections: [
      {
        title: "My resources",
        collapsed: false,
        panels: [
          statPanel({
            title: "My GPU-equivalents",
            description: "GPU-equivalents I hold: a full GPU is 1, a MIG Ng.* instance N/7.",
            queries: [{ expr: orZero(agg("sum", sel(ds01.ds01_gpu_equivalents, { user: USER }))), instant: true }],
            decimals: 2,
            thresholds: NEUTRAL,
          }),
          statPanel({
            title: "My GPU slots",
            description: "Full GPUs and MIG instances I hold.",
            queries: [{ expr: orZero(agg("count", sel(ds01.ds01_gpu_allocated, { user: USER }))), instant: true }],
            thresholds: NEUTRAL,
          }),
          statPanel({
            title: "My containers",
            description: "DS01 containers I own.",
            queries: [{ expr: orZero(agg("sum", sel(ds01.ds01_user_containers_count, { user: USER }))), instant: true }],
            thresholds: NEUTRAL,
          }),
          gaugePanel({
            title: "My average GPU utilisation",
            description: `Mean utilisation of my slots; below ${userUtil.crit}% for 30 minutes DS01 flags the allocation as waste.`,
            queries: [{ expr: sel(recorded["ds01:user_gpu_utilization_avg"], { user: USER }), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: falling(userUtil.crit, userUtil.warn),
            width: 6,
          }),
          gaugePanel({
            title: "My GPU memory used",
            description: "Mean framebuffer use of my slots.",
            queries: [{ expr: sel(recorded["ds01:user_gpu_memory_percent"], { user: USER }), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(memory.warn, memory.crit),
            width: 6,
          }),
        ],
      },
      {
        title: "My allocations",
        collapsed: false,
        panels: [
          tablePanel({
            title: "My allocations",
            description: "Each slot I hold: its container, interface, MIG profile and current utilisation.",
            queries: [
              { expr: sel(ds01.ds01_gpu_allocated, { user: USER }), table: true },
              { expr: sel(recorded["ds01:allocation_utilization"], { user: USER }), table: true },
            ],
            merge: true,
            hideColumns: ["job", "instance", "Value #A", "gpu_uuid", "user"],
            renameColumns: {
              gpu_slot: "Slot",
              container: "Container",
              interface: "Interface",
              profile: "Profile",
              "Value #B": "Utilisation",
            },
            valueColumn: "Utilisation",
            unit: "percent",
            decimals: 0,
            thresholds: falling(util.crit, util.warn),
            width: 24,
            height: 7,
          }),
        ],
      },
      {
        title: "My GPU history",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "My GPU utilisation",
            description: "Mean and highest utilisation over my slots.",
            queries: [
              { expr: sel(recorded["ds01:user_gpu_utilization_avg"], { user: USER }), legend: "average" },
              { expr: sel(recorded["ds01:user_gpu_utilization_max"], { user: USER }), legend: "highest" },
            ],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: falling(util.crit, util.warn),
            thresholdLines: true,
          }),
          timeseriesPanel({
            title: "My GPU memory",
            description: "Mean framebuffer use of my slots.",
            queries: [{ expr: sel(recorded["ds01:user_gpu_memory_percent"], { user: USER }), legend: "memory used" }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(memory.warn, memory.crit),
            thresholdLines: true,
          }),
          timeseriesPanel({
            title: "Utilisation per allocation",
            description: "Slot utilisation of my ten allocations busiest over the time range.",
            queries: [
              {
                expr: topkOverRange(
                  TOP_CONTAINERS,
                  sel(recorded["ds01:allocation_utilization"], { user: USER }),
                  call("avg_over_time", `${range(recorded["ds01:allocation_utilization"], "$__range", { user: USER })} @ end()`),
                  ["container", "gpu_slot"],
                ),
                legend: "{{container}} (slot {{gpu_slot}})",
              },
            ],
            unit: "percent",
            min: 0,
            max: 100,
            width: 24,
          }),
        ],
      },
      {
        title: "My containers (cAdvisor)",
        collapsed: true,
        panels: [
          timeseriesPanel({
            title: "CPU per container",
            description: "CPU cores used by my ten GPU containers busiest over the time range (cAdvisor; listed in $top_containers_cpu).",
            queries: [
              {
                expr: whileMine(agg("sum", call("avg_over_time", range(CONTAINER_CPU, "$__rate_interval", listedIn(topCpu))), ["name"]), topCpu),
                legend: "{{name}}",
              },
            ],
            unit: "short",
            expectData: false,
          }),
          timeseriesPanel({
            title: "Memory per container",
            description: "Working set of my ten GPU containers largest over the time range (cAdvisor; listed in $top_containers_memory).",
            queries: [
              {
                expr: whileMine(memoryNow, topMemory),
                legend: "{{name}}",
              },
            ],
            unit: "bytes",
            expectData: false,
          }),
          timeseriesPanel({
            title: "Memory against limit",
            description: "Working set as a share of the container's memory limit, for the containers in $top_containers_memory; DS01 warns above 90%.",
            queries: [
              {
                expr: whileMine(
                  // A limit of 0 means "no limit": leave those containers out rather than divide by it.
                  `100 * ${memoryNow} / (${agg("sum", sel(CONTAINER_MEMORY_LIMIT, listedIn(topMemory)), ["name"])} > 0)`,
                  topMemory,
                ),
                legend: "{{name}}",
              },
            ],
            unit: "percent",
            thresholds: rising(levels.containerMemoryPercent.warn, levels.containerMemoryPercent.crit),
            thresholdLines: true,
            expectData: false,
            width: 24,
          }),
        ],
      },
    ],
  };
}
