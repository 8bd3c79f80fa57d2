import { agg, call, type DCGM_GPU_RATE_FIELDS, FULL_GPU, MIG_INSTANCE, ne, range, re, recorded, sel, type Matchers, type MeasuredEntityName, type MeasuredGpuName } from "../metrics";
import type { PanelLevels } from "../metrics/thresholds";
import type { DashboardDef } from "./kit/dashboard";
import { dcgmHostsExpr } from "./kit/dcgm";
import {
  ANY_BAD,
  barGaugePanel,
  falling,
  gaugePanel,
  NEUTRAL,
  rising,
  statPanel,
  tablePanel,
  timeseriesPanel,
} from "./kit/panels";
import { labelValuesVariable, queryResultVariable } from "./kit/variables";
import { UID } from "./uids";

/**
 * Gauges come from the recorded `gpu_entity:*:measured` and `gpu:*:measured` series
 * (alerts/rules/dcgm-recording.ts): blank values already dropped and the host in one `host`
 * label, so a panel reads one selector. Rates average the recorded 5-minute rates
 * (`gpu:*:rate5m`) over the panel's interval; energy over the range is the mean power times the
 * span, ECC errors per interval the recorded ECC rates times the interval, so no panel reads a raw
 * counter (the stack's counter list, metrics/dcgm-counters.ts, collects the ECC counters). DCGM's
 * profiling ratios (0 to 1) are drawn in Grafana's percentunit rather than multiplied by 100: over
 * a week the multiplication cost a third of the query.
 */
const SELECTED = { host: re("$host"), gpu: re("$gpu") };

type EntityMetric = (typeof recorded)[MeasuredEntityName | "gpu_entity:dcgm_framebuffer_used:percent"];
type GpuMetric = (typeof recorded)[MeasuredGpuName];

/** A per-entity recorded series (full GPUs and MIG instances) on the selected hosts and GPUs. */
function entity(metric: EntityMetric, matchers: Matchers<EntityMetric> = {}): string {
  return sel(metric, { ...SELECTED, ...matchers });
}

/** A per-physical-GPU recorded series on the selected hosts and GPUs. */
function card(metric: GpuMetric): string {
  return sel(metric, SELECTED);
}

type RateMetric = (typeof recorded)[`gpu:${(typeof DCGM_GPU_RATE_FIELDS)[number]}:rate5m`];

/** A counter's per-second rate per physical GPU, from its recorded 5-minute rate averaged over the panel's interval. */
function gpuRate(metric: RateMetric): string {
  return call("avg_over_time", range(metric, "$__rate_interval", SELECTED));
}

const GPU_LEGEND = "{{host}} GPU {{gpu}}";
const MIG_LEGEND = "{{host}} GPU {{gpu}} instance {{GPU_I_ID}} ({{GPU_I_PROFILE}})";
/** mJ per kWh. */
const MILLIJOULES_PER_KWH = 3.6e9;

const r = recorded;
export function nvidiaDcgm(levels: PanelLevels): DashboardDef {
  const temp = levels.gpuTemperatureCelsius;
  const util = levels.gpuUtilisationPercent;
  const memory = levels.gpuMemoryPercent;
  return {
    uid: UID.nvidiaDcgm,
    title: "NVIDIA DCGM GPU",
    description:
      "How is each GPU doing as hardware? Utilisation, framebuffer memory, temperature, power and energy, clocks, " +
      "PCIe and NVLink traffic, ECC/XID errors and MIG instances from NVIDIA's DCGM exporter, per host and GPU.",
    tags: ["gpu", "dcgm", "nvidia"],
    related: [UID.ds01Overview, UID.host, UID.k8sGpuWorkloads],
    variables: [
      queryResultVariable("host", dcgmHostsExpr(), "host", {
        label: "Host",
        description: "GPU hosts, from DCGM's Hostname or hostname label (the exporter has used both spellings).",
        multi: true,
        includeAll: true,
      }),
      labelValuesVariable("gpu", r["gpu:DCGM_FI_DEV_GPU_TEMP:measured"], "gpu", {
        label: "GPU",
        description: "GPU index on the host.",
        multi: true,
        includeAll: true,
      }),
    ],
    sections: [
      {
        title: "GPU overview",
        collapsed: false,
        panels: [
          statPanel({
            title: "GPUs",
            description: "Physical GPUs selected.",
            queries: [{ expr: agg("count", card(r["gpu:DCGM_FI_DEV_GPU_TEMP:measured"])), instant: true }],
            thresholds: NEUTRAL,
          }),
          gaugePanel({
            title: "Average utilisation",
            description: "Mean utilisation of the selected full GPUs (MIG-enabled GPUs report per instance, below).",
            queries: [{ expr: agg("avg", entity(r["gpu_entity:DCGM_FI_DEV_GPU_UTIL:measured"], FULL_GPU)), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: falling(util.crit, util.warn),
          }),
          statPanel({
            title: "Hottest GPU",
            description: `Highest GPU temperature (warning ${temp.warn} °C, critical ${temp.crit} °C).`,
            queries: [{ expr: agg("max", card(r["gpu:DCGM_FI_DEV_GPU_TEMP:measured"])), instant: true }],
            unit: "celsius",
            thresholds: rising(temp.warn, temp.crit),
            sparkline: true,
          }),
          statPanel({
            title: "Power draw",
            description: "Total power of the selected GPUs.",
            queries: [{ expr: agg("sum", card(r["gpu:DCGM_FI_DEV_POWER_USAGE:measured"])), instant: true }],
            unit: "watt",
            thresholds: NEUTRAL,
            sparkline: true,
          }),
          gaugePanel({
            title: "Framebuffer used",
            description: "Mean framebuffer use over the selected GPUs and MIG instances.",
            queries: [{ expr: agg("avg", entity(r["gpu_entity:dcgm_framebuffer_used:percent"])), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(memory.warn, memory.crit),
          }),
          statPanel({
            title: "Energy in range",
            description: "Energy the selected GPUs used over the dashboard's time range.",
            queries: [
              {
                // The mean power over the range (mJ/s, one series per physical GPU) times the range's seconds.
                expr: `${agg("sum", call("avg_over_time", range(recorded["gpu:DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION:rate5m"], "$__range", SELECTED)))} * $__range_s / ${MILLIJOULES_PER_KWH}`,
                instant: true,
              },
            ],
            unit: "kwatth",
            decimals: 2,
            thresholds: NEUTRAL,
          }),
        ],
      },
      {
        title: "Utilisation",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "GPU utilisation",
            description: "Share of time a kernel ran on each full GPU.",
            queries: [{ expr: entity(r["gpu_entity:DCGM_FI_DEV_GPU_UTIL:measured"], FULL_GPU), legend: GPU_LEGEND }],
            unit: "percent",
            min: 0,
            max: 100,
          }),
          barGaugePanel({
            title: "Utilisation now",
            description: "Current utilisation of each full GPU.",
            queries: [{ expr: entity(r["gpu_entity:DCGM_FI_DEV_GPU_UTIL:measured"], FULL_GPU), legend: GPU_LEGEND, instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: falling(util.crit, util.warn),
            width: 12,
          }),
          timeseriesPanel({
            title: "Memory copy utilisation",
            description: "Share of time device memory was being read or written.",
            queries: [{ expr: entity(r["gpu_entity:DCGM_FI_DEV_MEM_COPY_UTIL:measured"], FULL_GPU), legend: GPU_LEGEND }],
            unit: "percent",
            min: 0,
            max: 100,
          }),
          timeseriesPanel({
            title: "Tensor core activity",
            description: "Share of cycles the tensor (HMMA) pipe was active.",
            queries: [{ expr: entity(r["gpu_entity:DCGM_FI_PROF_PIPE_TENSOR_ACTIVE:measured"]), legend: GPU_LEGEND + " {{GPU_I_ID}}" }],
            unit: "percentunit",
            min: 0,
            max: 1,
          }),
          timeseriesPanel({
            title: "Encoder and decoder utilisation",
            description: "Video encoder and decoder engines.",
            queries: [
              { expr: entity(r["gpu_entity:DCGM_FI_DEV_ENC_UTIL:measured"], FULL_GPU), legend: "encoder " + GPU_LEGEND },
              { expr: entity(r["gpu_entity:DCGM_FI_DEV_DEC_UTIL:measured"], FULL_GPU), legend: "decoder " + GPU_LEGEND },
            ],
            unit: "percent",
            min: 0,
            max: 100,
          }),
          timeseriesPanel({
            title: "DRAM activity",
            description: "Share of cycles the device memory interface was busy.",
            queries: [{ expr: entity(r["gpu_entity:DCGM_FI_PROF_DRAM_ACTIVE:measured"]), legend: GPU_LEGEND + " {{GPU_I_ID}}" }],
            unit: "percentunit",
            min: 0,
            max: 1,
          }),
        ],
      },
      {
        title: "Framebuffer memory",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Framebuffer used",
            description: "Framebuffer in use per GPU and MIG instance.",
            queries: [{ expr: entity(r["gpu_entity:DCGM_FI_DEV_FB_USED:measured"]), legend: GPU_LEGEND + " {{GPU_I_ID}}" }],
            unit: "decmbytes",
          }),
          timeseriesPanel({
            title: "Framebuffer free",
            description: "Framebuffer free per GPU and MIG instance.",
            queries: [{ expr: entity(r["gpu_entity:DCGM_FI_DEV_FB_FREE:measured"]), legend: GPU_LEGEND + " {{GPU_I_ID}}" }],
            unit: "decmbytes",
          }),
        ],
      },
      {
        title: "Temperature, power and energy",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "GPU temperature",
            description: `Dashed lines at ${temp.warn} °C and ${temp.crit} °C.`,
            queries: [{ expr: card(r["gpu:DCGM_FI_DEV_GPU_TEMP:measured"]), legend: GPU_LEGEND }],
            unit: "celsius",
            thresholds: rising(temp.warn, temp.crit),
            thresholdLines: true,
          }),
          timeseriesPanel({
            title: "Memory temperature",
            description: "HBM temperature where the GPU reports it.",
            queries: [{ expr: card(r["gpu:DCGM_FI_DEV_MEMORY_TEMP:measured"]), legend: GPU_LEGEND }],
            unit: "celsius",
          }),
          timeseriesPanel({
            title: "Power draw",
            description: "Power per GPU as DCGM samples it.",
            queries: [{ expr: card(r["gpu:DCGM_FI_DEV_POWER_USAGE:measured"]), legend: GPU_LEGEND }],
            unit: "watt",
          }),
          timeseriesPanel({
            title: "Power from energy counter",
            description: "Average power between samples, from the total-energy counter (mJ/s → W): catches spikes the power gauge misses.",
            queries: [{ expr: `${gpuRate(r["gpu:DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION:rate5m"])} / 1000`, legend: GPU_LEGEND }],
            unit: "watt",
          }),
        ],
      },
      {
        title: "Clocks",
        collapsed: true,
        panels: [
          timeseriesPanel({
            title: "SM clock",
            description: "Streaming-multiprocessor clock; a drop under load points to throttling.",
            queries: [{ expr: card(r["gpu:DCGM_FI_DEV_SM_CLOCK:measured"]), legend: GPU_LEGEND }],
            unit: "rotmhz",
          }),
          timeseriesPanel({
            title: "Memory clock",
            description: "Device memory clock.",
            queries: [{ expr: card(r["gpu:DCGM_FI_DEV_MEM_CLOCK:measured"]), legend: GPU_LEGEND }],
            unit: "rotmhz",
          }),
          timeseriesPanel({
            title: "Throttling",
            description: "Share of time the GPU was held back by thermal or power limits (DCGM violation counters, ns per second).",
            queries: [
              { expr: `${gpuRate(r["gpu:DCGM_FI_DEV_THERMAL_VIOLATION:rate5m"])} / 1e9`, legend: "thermal " + GPU_LEGEND },
              { expr: `${gpuRate(r["gpu:DCGM_FI_DEV_POWER_VIOLATION:rate5m"])} / 1e9`, legend: "power " + GPU_LEGEND },
            ],
            unit: "percentunit",
            expectData: false,
            width: 24,
          }),
        ],
      },
      {
        title: "PCIe and NVLink",
        collapsed: true,
        panels: [
          timeseriesPanel({
            title: "PCIe throughput",
            description: "Bytes per second over PCIe, headers included; receive drawn below the axis.",
            queries: [
              { expr: card(r["gpu:DCGM_FI_PROF_PCIE_TX_BYTES:measured"]), legend: "tx " + GPU_LEGEND },
              { expr: `-${card(r["gpu:DCGM_FI_PROF_PCIE_RX_BYTES:measured"])}`, legend: "rx " + GPU_LEGEND },
            ],
            unit: "Bps",
          }),
          timeseriesPanel({
            title: "PCIe replays",
            description: "PCIe retries per second; steady replays mean a bad link or riser.",
            queries: [{ expr: gpuRate(r["gpu:DCGM_FI_DEV_PCIE_REPLAY_COUNTER:rate5m"]), legend: GPU_LEGEND }],
            unit: "short",
            thresholds: ANY_BAD,
          }),
          timeseriesPanel({
            title: "NVLink bandwidth",
            description: "NVLink traffic over all lanes (GPUs without NVLink show nothing).",
            queries: [{ expr: gpuRate(r["gpu:DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL:rate5m"]), legend: GPU_LEGEND }],
            unit: "short",
            expectData: false,
            width: 24,
          }),
        ],
      },
      {
        title: "Errors",
        collapsed: true,
        panels: [
          tablePanel({
            title: "Last XID error",
            description: "GPUs whose last XID error is non-zero, with its code (XID 48/63/64/74/79 usually need a reset or RMA).",
            queries: [{ expr: `${card(r["gpu:DCGM_FI_DEV_XID_ERRORS:measured"])} > 0`, table: true }],
            hideColumns: ["job", "instance", "UUID"],
            renameColumns: { Value: "XID" },
            valueColumn: "XID",
            thresholds: ANY_BAD,
            expectData: false,
          }),
          timeseriesPanel({
            title: "ECC errors",
            description: "Volatile single-bit (corrected) and double-bit (uncorrected) ECC errors in each interval, from their recorded 5-minute rates.",
            queries: [
              { expr: `${gpuRate(r["gpu:DCGM_FI_DEV_ECC_SBE_VOL_TOTAL:rate5m"])} * $__interval_ms / 1000`, legend: "single-bit " + GPU_LEGEND },
              { expr: `${gpuRate(r["gpu:DCGM_FI_DEV_ECC_DBE_VOL_TOTAL:rate5m"])} * $__interval_ms / 1000`, legend: "double-bit " + GPU_LEGEND },
            ],
            unit: "short",
            thresholds: ANY_BAD,
            bars: true,
            expectData: false,
          }),
          timeseriesPanel({
            title: "Remapped rows",
            description: "Memory rows remapped after correctable and uncorrectable errors, and remap failures.",
            queries: [
              { expr: card(r["gpu:DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS:measured"]), legend: "correctable " + GPU_LEGEND },
              { expr: card(r["gpu:DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS:measured"]), legend: "uncorrectable " + GPU_LEGEND },
              { expr: card(r["gpu:DCGM_FI_DEV_ROW_REMAP_FAILURE:measured"]), legend: "remap failed " + GPU_LEGEND },
            ],
            unit: "short",
            thresholds: ANY_BAD,
            expectData: false,
            width: 24,
          }),
        ],
      },
      {
        title: "Kubernetes workloads",
        collapsed: true,
        panels: [
          tablePanel({
            title: "GPUs by pod",
            description: "Which pod holds each GPU or MIG instance and how busy it is (DCGM's Kubernetes pod mapping; empty outside Kubernetes).",
            queries: [
              { expr: entity(r["gpu_entity:DCGM_FI_PROF_GR_ENGINE_ACTIVE:measured"], { pod: ne("") }), table: true },
              { expr: entity(r["gpu_entity:DCGM_FI_DEV_FB_USED:measured"], { pod: ne("") }), table: true },
            ],
            merge: true,
            hideColumns: ["job", "instance", "UUID", "modelName", "GPU_I_PROFILE"],
            renameColumns: {
              namespace: "Namespace",
              pod: "Pod",
              container: "Container",
              gpu: "GPU",
              GPU_I_ID: "MIG instance",
              "Value #A": "Activity",
              "Value #B": "Memory used",
            },
            valueColumn: "Activity",
            unit: "percentunit",
            thresholds: falling(util.crit / 100, util.warn / 100),
            expectData: false,
            width: 24,
          }),
        ],
      },
      {
        title: "MIG instances",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "MIG instance utilisation",
            description: "Graphics-engine activity of each MIG instance (GPU index, GPU instance id and profile).",
            queries: [{ expr: entity(r["gpu_entity:DCGM_FI_PROF_GR_ENGINE_ACTIVE:measured"], MIG_INSTANCE), legend: MIG_LEGEND }],
            unit: "percentunit",
            min: 0,
            max: 1,
            thresholds: falling(util.crit / 100, util.warn / 100),
          }),
          timeseriesPanel({
            title: "MIG instance memory used",
            description: "Framebuffer used per MIG instance.",
            queries: [{ expr: entity(r["gpu_entity:DCGM_FI_DEV_FB_USED:measured"], MIG_INSTANCE), legend: MIG_LEGEND }],
            unit: "decmbytes",
          }),
        ],
      },
    ],
  };
}
