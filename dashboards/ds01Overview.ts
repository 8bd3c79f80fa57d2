import { agg, call, ds01, exporterSelf, FULL_GPU, MIG_INSTANCE, ne, physicalGpuCount, recorded, sel } from "../metrics";
import type { PanelLevels } from "../metrics/thresholds";
import type { DashboardDef } from "./kit/dashboard";
import {
  ANY_BAD,
  barGaugePanel,
  falling,
  gaugePanel,
  GREEN,
  NEUTRAL,
  piePanel,
  RED,
  rising,
  stateTimelinePanel,
  statPanel,
  tablePanel,
  timeseriesPanel,
  UP_DOWN_MAPPINGS,
  valueMappings,
  ZERO_BAD,
} from "./kit/panels";
import { orZero } from "./kit/expr";
import { UID } from "./uids";

export function ds01Overview(levels: PanelLevels): DashboardDef {
  const temp = levels.gpuTemperatureCelsius;
  const util = levels.gpuUtilisationPercent;
  const allocations = sel(ds01.ds01_gpu_allocated);
  const migAllocated = orZero(agg("count", sel(ds01.ds01_gpu_allocated, { profile: ne("full") })));
  const migTotal = orZero(agg("count", sel(ds01.ds01_mig_slot_info)));
  const physicalGpus = `(${physicalGpuCount()})`;
  const equivalentsAllocated = orZero(agg("sum", sel(ds01.ds01_gpu_equivalents)));

  return {
    uid: UID.ds01Overview,
    title: "DS01 Overview",
    description:
      "Is the GPU server healthy and who holds which GPU? GPU counts, utilisation and temperature, MIG capacity, " +
      "the GPU → user → container allocation table and containers by interface.",
    tags: ["ds01", "gpu"],
    related: [UID.ds01User, UID.ds01History, UID.nvidiaDcgm, UID.host, UID.stackHealth],
    variables: [],
    sections: [
      {
        title: "GPU stats",
        collapsed: false,
        panels: [
          statPanel({
            title: "GPUs",
            description: "Physical GPUs the host has.",
            queries: [{ expr: physicalGpus, instant: true }],
            thresholds: NEUTRAL,
          }),
          gaugePanel({
            title: "Average GPU utilisation",
            description: `Mean over full GPUs and MIG instances; below ${util.crit}% an allocation counts as waste.`,
            queries: [{ expr: sel(recorded["ds01:system_gpu_utilization_avg"]), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: falling(util.crit, util.warn),
          }),
          statPanel({
            title: "Hottest GPU",
            description: `Highest GPU temperature; DS01 warns at ${temp.warn} °C and pages at ${temp.crit} °C.`,
            queries: [{ expr: agg("max", sel(recorded["gpu:DCGM_FI_DEV_GPU_TEMP:measured"])), instant: true }],
            unit: "celsius",
            thresholds: rising(temp.warn, temp.crit),
            sparkline: true,
          }),
          statPanel({
            title: "GPU-equivalents free",
            description: "Physical GPUs minus allocated GPU-equivalents (a MIG Ng.* instance counts N/7).",
            queries: [{ expr: `${physicalGpus} - ${equivalentsAllocated}`, instant: true }],
            decimals: 2,
            thresholds: falling(levels.fixed.gpuEquivalentsFree.crit, levels.fixed.gpuEquivalentsFree.warn),
          }),
          statPanel({
            title: "Active users",
            description: "Users holding at least one GPU or MIG slot.",
            queries: [{ expr: orZero(agg("count", agg("count", allocations, ["user"]))), instant: true }],
            thresholds: NEUTRAL,
          }),
          statPanel({
            title: "Running containers",
            description: "DS01 containers in the running state.",
            queries: [{ expr: orZero(agg("sum", sel(ds01.ds01_containers_total, { status: "running" }))), instant: true }],
            thresholds: NEUTRAL,
          }),
        ],
      },
      {
        title: "MIG status and capacity",
        collapsed: false,
        panels: [
          statPanel({
            title: "MIG instances",
            description: "MIG instances configured on the host.",
            queries: [{ expr: migTotal, instant: true }],
            thresholds: NEUTRAL,
          }),
          statPanel({
            title: "MIG allocated",
            description: "MIG instances held by a container.",
            queries: [{ expr: migAllocated, instant: true }],
            thresholds: NEUTRAL,
          }),
          statPanel({
            title: "MIG free",
            description: "MIG instances nobody holds.",
            queries: [{ expr: call("clamp_min", `${migTotal} - ${migAllocated}`, 0), instant: true }],
            thresholds: falling(levels.fixed.slotsFree.crit, levels.fixed.slotsFree.warn),
          }),
          statPanel({
            title: "Slots free",
            description: "Allocatable slots (full GPUs and MIG instances) nobody holds, from the recording rules.",
            queries: [{ expr: sel(recorded["ds01:system_gpu_slots_free"]), instant: true }],
            thresholds: falling(levels.fixed.slotsFree.crit, levels.fixed.slotsFree.warn),
          }),
          statPanel({
            title: "MIG mapping",
            description: "Whether every MIG UUID a container holds maps to a known slot.",
            queries: [{ expr: sel(ds01.ds01_mig_mapping_status), instant: true }],
            mappings: valueMappings({ "0": ["MISMATCH", RED], "1": ["OK", GREEN] }),
            thresholds: ZERO_BAD,
          }),
          statPanel({
            title: "Unmanaged GPU containers",
            description: "Containers holding GPUs outside DS01's allocation (ds01_unmanaged_gpu_count).",
            queries: [{ expr: sel(ds01.ds01_unmanaged_gpu_count), instant: true }],
            thresholds: ANY_BAD,
          }),
        ],
      },
      {
        title: "GPU utilisation and memory",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "GPU utilisation per device",
            description: "Full GPUs from DCGM_FI_DEV_GPU_UTIL; MIG instances from the graphics-engine activity, named by DS01 slot.",
            queries: [
              { expr: sel(recorded["ds01:gpu_utilization_by_slot"], FULL_GPU), legend: "GPU {{gpu}}" },
              { expr: sel(recorded["ds01:gpu_utilization_by_slot"], MIG_INSTANCE), legend: "MIG {{gpu_slot}}" },
            ],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: falling(util.crit, util.warn),
          }),
          timeseriesPanel({
            title: "GPU memory used per device",
            description: "Framebuffer used as a share of used + free, per full GPU and per MIG instance.",
            queries: [
              { expr: sel(recorded["ds01:gpu_memory_percent_by_slot"], FULL_GPU), legend: "GPU {{gpu}}" },
              { expr: sel(recorded["ds01:gpu_memory_percent_by_slot"], MIG_INSTANCE), legend: "MIG {{gpu_slot}}" },
            ],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(levels.gpuMemoryPercent.warn, levels.gpuMemoryPercent.crit),
            thresholdLines: true,
          }),
          timeseriesPanel({
            title: "GPU temperature",
            description: `Per physical GPU; dashed lines at ${temp.warn} °C and ${temp.crit} °C.`,
            queries: [{ expr: agg("max", sel(recorded["gpu:DCGM_FI_DEV_GPU_TEMP:measured"]), ["gpu"]), legend: "GPU {{gpu}}" }],
            unit: "celsius",
            thresholds: rising(temp.warn, temp.crit),
            thresholdLines: true,
          }),
          timeseriesPanel({
            title: "GPU power",
            description: "Power draw per physical GPU.",
            queries: [{ expr: agg("max", sel(recorded["gpu:DCGM_FI_DEV_POWER_USAGE:measured"]), ["gpu"]), legend: "GPU {{gpu}}" }],
            unit: "watt",
          }),
        ],
      },
      {
        title: "Allocations",
        collapsed: false,
        panels: [
          tablePanel({
            title: "GPU → user → container",
            description: "Every GPU and MIG slot held right now, with its container, user, interface and current utilisation.",
            queries: [
              { expr: allocations, table: true },
              { expr: sel(recorded["ds01:allocation_utilization"]), table: true },
            ],
            merge: true,
            hideColumns: ["job", "instance", "Value #A", "gpu_uuid"],
            renameColumns: {
              gpu_slot: "Slot",
              user: "User",
              container: "Container",
              interface: "Interface",
              profile: "Profile",
              "Value #B": "Utilisation",
            },
            valueColumn: "Utilisation",
            unit: "percent",
            decimals: 0,
            thresholds: falling(util.crit, util.warn),
            width: 16,
            height: 9,
          }),
          piePanel({
            title: "Containers by interface",
            description: "DS01 containers per interface (orchestration, atomic, api, other, docker).",
            queries: [{ expr: agg("sum", sel(ds01.ds01_containers_total), ["interface"]), legend: "{{interface}}", instant: true }],
            height: 9,
          }),
          barGaugePanel({
            title: "GPU-equivalents by user",
            description: "GPU-equivalents each user holds (a full GPU is 1, a MIG Ng.* instance N/7).",
            queries: [{ expr: agg("sum", sel(ds01.ds01_gpu_equivalents), ["user"]), legend: "{{user}}", instant: true }],
            unit: "none",
            decimals: 2,
            min: 0,
            width: 12,
            links: [{ title: "DS01 My Usage", url: `/d/${UID.ds01User}?var-user=\${__field.labels.user}` }],
          }),
          statPanel({
            title: "Wasted allocations",
            description: `Allocated slots below ${util.crit}% utilisation, from the recording rules.`,
            queries: [{ expr: sel(recorded["ds01:gpu_waste_count"]), instant: true }],
            thresholds: ANY_BAD,
            width: 6,
            height: 8,
          }),
          gaugePanel({
            title: "Wasted share",
            description: "Share of allocated slots that are wasted.",
            queries: [{ expr: sel(recorded["ds01:gpu_waste_percent"]), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(levels.systemGpuWastePercent.warn, levels.systemGpuWastePercent.crit),
            width: 6,
            height: 8,
          }),
        ],
      },
      {
        title: "DS01 exporter and events",
        collapsed: true,
        panels: [
          stateTimelinePanel({
            title: "Exporter sources",
            description: "Whether each source of the DS01/DRM exporter (Docker, state file, events, DRM) was read successfully.",
            queries: [{ expr: sel(exporterSelf.ds01_exporter_source_up), legend: "{{source}}" }],
            mappings: UP_DOWN_MAPPINGS,
            thresholds: ZERO_BAD,
          }),
          barGaugePanel({
            title: "Events in the last 24 h",
            description: "Events in DS01's events log over the last 24 hours, by type.",
            queries: [
              { expr: agg("sum", sel(ds01.ds01_events_24h_total), ["event_type"]), legend: "{{event_type}}", instant: true },
            ],
            unit: "short",
            expectData: false,
            width: 12,
          }),
          statPanel({
            title: "State disk used",
            description: "Use of the filesystem holding DS01's state directory.",
            queries: [
              {
                expr: `100 * ${sel(ds01.ds01_state_disk_bytes, { type: "used" })} / ignoring(type) ${sel(ds01.ds01_state_disk_bytes, { type: "total" })}`,
                instant: true,
              },
            ],
            unit: "percent",
            thresholds: rising(levels.stateDiskUsedPercent.warn, levels.stateDiskUsedPercent.crit),
            width: 6,
          }),
          statPanel({
            title: "Exporter scrape time",
            description: "Time the exporter took to serve its last /metrics request.",
            queries: [{ expr: sel(exporterSelf.ds01_exporter_scrape_duration_seconds), instant: true }],
            unit: "s",
            thresholds: rising(levels.fixed.exporterScrapeSeconds.warn, levels.fixed.exporterScrapeSeconds.crit),
            sparkline: true,
            width: 6,
          }),
        ],
      },
    ],
  };
}
