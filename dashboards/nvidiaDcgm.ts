import { agg, dcgm, ne, re, type Matchers } from "../metrics";
import type { DashboardDef } from "./kit/dashboard";
import { dcgmHostsExpr, measured, onHost, onHostOverRange, type DcgmMetric } from "./kit/dcgm";
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
import { GPU_TEMP_CRIT_C, GPU_TEMP_WARN_C, GPU_WASTE_PERCENT } from "./ds01Overview";
import { UID } from "./uids";

/** A DCGM series on the selected hosts and GPUs, blank values dropped. */
function gpuSeries<M extends DcgmMetric>(metric: M, matchers: Matchers<M> = {}): string {
  return measured(onHost(metric, { gpu: re("$gpu"), ...matchers } as Matchers<M>));
}

/** `fn(counter[window])` on the selected hosts and GPUs; a jump to or from a blank value is dropped. */
function gpuCounter<M extends DcgmMetric>(fn: "rate" | "increase", metric: M, window: string, matchers: Matchers<M> = {}): string {
  return measured(onHostOverRange(fn, metric, window, { gpu: re("$gpu"), ...matchers } as Matchers<M>));
}

/** The selected counter's per-second rate. */
function gpuRate<M extends DcgmMetric>(metric: M): string {
  return gpuCounter("rate", metric, "$__rate_interval");
}

const FULL = { GPU_I_ID: "" };
const MIG = { GPU_I_ID: ne("") };
/** The exporter spells the host label one of two ways; a series has one, so one of these is empty. */
const GPU_LEGEND = "{{Hostname}}{{hostname}} GPU {{gpu}}";
const MIG_LEGEND = "{{Hostname}}{{hostname}} GPU {{gpu}} instance {{GPU_I_ID}} ({{GPU_I_PROFILE}})";
/** One physical GPU: device-level fields repeat on each MIG instance's series, so group by these. */
const PER_GPU = ["Hostname", "hostname", "gpu", "UUID"];
/** A device-level field once per physical GPU. */
function perGpu(expr: string): string {
  return agg("max", expr, PER_GPU);
}
/** mJ per kWh. */
const MILLIJOULES_PER_KWH = 3.6e9;

export function nvidiaDcgm(): DashboardDef {
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
      labelValuesVariable("gpu", dcgm.DCGM_FI_DEV_GPU_TEMP, "gpu", {
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
            queries: [{ expr: agg("count", agg("count", gpuSeries(dcgm.DCGM_FI_DEV_GPU_TEMP), PER_GPU)), instant: true }],
            thresholds: NEUTRAL,
          }),
          gaugePanel({
            title: "Average utilisation",
            description: "Mean utilisation of the selected full GPUs (MIG-enabled GPUs report per instance, below).",
            queries: [{ expr: agg("avg", gpuSeries(dcgm.DCGM_FI_DEV_GPU_UTIL, FULL)), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: falling(GPU_WASTE_PERCENT, 20),
          }),
          statPanel({
            title: "Hottest GPU",
            description: `Highest GPU temperature (warning ${GPU_TEMP_WARN_C} °C, critical ${GPU_TEMP_CRIT_C} °C).`,
            queries: [{ expr: agg("max", gpuSeries(dcgm.DCGM_FI_DEV_GPU_TEMP)), instant: true }],
            unit: "celsius",
            thresholds: rising(GPU_TEMP_WARN_C, GPU_TEMP_CRIT_C),
            sparkline: true,
          }),
          statPanel({
            title: "Power draw",
            description: "Total power of the selected GPUs.",
            queries: [{ expr: agg("sum", agg("max", gpuSeries(dcgm.DCGM_FI_DEV_POWER_USAGE), PER_GPU)), instant: true }],
            unit: "watt",
            thresholds: NEUTRAL,
            sparkline: true,
          }),
          gaugePanel({
            title: "Framebuffer used",
            description: "Mean framebuffer use over the selected GPUs and MIG instances.",
            queries: [
              {
                expr: agg(
                  "avg",
                  `100 * (${gpuSeries(dcgm.DCGM_FI_DEV_FB_USED)}) / ((${gpuSeries(dcgm.DCGM_FI_DEV_FB_USED)}) + (${gpuSeries(
                    dcgm.DCGM_FI_DEV_FB_FREE,
                  )}))`,
                ),
                instant: true,
              },
            ],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(90, 95),
          }),
          statPanel({
            title: "Energy in range",
            description: "Energy the selected GPUs used over the dashboard's time range.",
            queries: [
              {
                // With MIG on, device-level fields repeat on every instance's series: count each GPU once.
                expr: `${agg(
                  "sum",
                  agg("max", gpuCounter("increase", dcgm.DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, "$__range"), PER_GPU),
                )} / ${MILLIJOULES_PER_KWH}`,
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
            queries: [{ expr: gpuSeries(dcgm.DCGM_FI_DEV_GPU_UTIL, FULL), legend: GPU_LEGEND }],
            unit: "percent",
            min: 0,
            max: 100,
          }),
          barGaugePanel({
            title: "Utilisation now",
            description: "Current utilisation of each full GPU.",
            queries: [{ expr: gpuSeries(dcgm.DCGM_FI_DEV_GPU_UTIL, FULL), legend: GPU_LEGEND, instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: falling(GPU_WASTE_PERCENT, 20),
            width: 12,
          }),
          timeseriesPanel({
            title: "Memory copy utilisation",
            description: "Share of time device memory was being read or written.",
            queries: [{ expr: gpuSeries(dcgm.DCGM_FI_DEV_MEM_COPY_UTIL, FULL), legend: GPU_LEGEND }],
            unit: "percent",
            min: 0,
            max: 100,
          }),
          timeseriesPanel({
            title: "Tensor core activity",
            description: "Share of cycles the tensor (HMMA) pipe was active.",
            queries: [{ expr: `(${gpuSeries(dcgm.DCGM_FI_PROF_PIPE_TENSOR_ACTIVE)}) * 100`, legend: GPU_LEGEND + " {{GPU_I_ID}}" }],
            unit: "percent",
            min: 0,
            max: 100,
          }),
          timeseriesPanel({
            title: "Encoder and decoder utilisation",
            description: "Video encoder and decoder engines.",
            queries: [
              { expr: gpuSeries(dcgm.DCGM_FI_DEV_ENC_UTIL, FULL), legend: "encoder " + GPU_LEGEND },
              { expr: gpuSeries(dcgm.DCGM_FI_DEV_DEC_UTIL, FULL), legend: "decoder " + GPU_LEGEND },
            ],
            unit: "percent",
            min: 0,
            max: 100,
          }),
          timeseriesPanel({
            title: "DRAM activity",
            description: "Share of cycles the device memory interface was busy.",
            queries: [{ expr: `(${gpuSeries(dcgm.DCGM_FI_PROF_DRAM_ACTIVE)}) * 100`, legend: GPU_LEGEND + " {{GPU_I_ID}}" }],
            unit: "percent",
            min: 0,
            max: 100,
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
            queries: [{ expr: gpuSeries(dcgm.DCGM_FI_DEV_FB_USED), legend: GPU_LEGEND + " {{GPU_I_ID}}" }],
            unit: "decmbytes",
          }),
          timeseriesPanel({
            title: "Framebuffer free",
            description: "Framebuffer free per GPU and MIG instance.",
            queries: [{ expr: gpuSeries(dcgm.DCGM_FI_DEV_FB_FREE), legend: GPU_LEGEND + " {{GPU_I_ID}}" }],
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
            description: `Dashed lines at ${GPU_TEMP_WARN_C} °C and ${GPU_TEMP_CRIT_C} °C.`,
            queries: [{ expr: agg("max", gpuSeries(dcgm.DCGM_FI_DEV_GPU_TEMP), PER_GPU), legend: GPU_LEGEND }],
            unit: "celsius",
            thresholds: rising(GPU_TEMP_WARN_C, GPU_TEMP_CRIT_C),
            thresholdLines: true,
          }),
          timeseriesPanel({
            title: "Memory temperature",
            description: "HBM temperature where the GPU reports it.",
            queries: [{ expr: agg("max", gpuSeries(dcgm.DCGM_FI_DEV_MEMORY_TEMP), PER_GPU), legend: GPU_LEGEND }],
            unit: "celsius",
          }),
          timeseriesPanel({
            title: "Power draw",
            description: "Power per GPU as DCGM samples it.",
            queries: [{ expr: agg("max", gpuSeries(dcgm.DCGM_FI_DEV_POWER_USAGE), PER_GPU), legend: GPU_LEGEND }],
            unit: "watt",
          }),
          timeseriesPanel({
            title: "Power from energy counter",
            description: "Average power between samples, from the total-energy counter (mJ/s → W): catches spikes the power gauge misses.",
            queries: [{ expr: `${agg("max", gpuRate(dcgm.DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION), PER_GPU)} / 1000`, legend: GPU_LEGEND }],
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
            queries: [{ expr: agg("max", gpuSeries(dcgm.DCGM_FI_DEV_SM_CLOCK), PER_GPU), legend: GPU_LEGEND }],
            unit: "rotmhz",
          }),
          timeseriesPanel({
            title: "Memory clock",
            description: "Device memory clock.",
            queries: [{ expr: agg("max", gpuSeries(dcgm.DCGM_FI_DEV_MEM_CLOCK), PER_GPU), legend: GPU_LEGEND }],
            unit: "rotmhz",
          }),
          timeseriesPanel({
            title: "Throttling",
            description: "Share of time the GPU was held back by thermal or power limits (DCGM violation counters, µs per second).",
            queries: [
              { expr: `${perGpu(gpuRate(dcgm.DCGM_FI_DEV_THERMAL_VIOLATION))} / 1e6`, legend: "thermal " + GPU_LEGEND },
              { expr: `${perGpu(gpuRate(dcgm.DCGM_FI_DEV_POWER_VIOLATION))} / 1e6`, legend: "power " + GPU_LEGEND },
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
              { expr: perGpu(gpuSeries(dcgm.DCGM_FI_PROF_PCIE_TX_BYTES)), legend: "tx " + GPU_LEGEND },
              { expr: `-(${perGpu(gpuSeries(dcgm.DCGM_FI_PROF_PCIE_RX_BYTES))})`, legend: "rx " + GPU_LEGEND },
            ],
            unit: "Bps",
          }),
          timeseriesPanel({
            title: "PCIe replays",
            description: "PCIe retries per second; steady replays mean a bad link or riser.",
            queries: [{ expr: perGpu(gpuRate(dcgm.DCGM_FI_DEV_PCIE_REPLAY_COUNTER)), legend: GPU_LEGEND }],
            unit: "short",
            thresholds: ANY_BAD,
          }),
          timeseriesPanel({
            title: "NVLink bandwidth",
            description: "NVLink traffic over all lanes (GPUs without NVLink show nothing).",
            queries: [{ expr: perGpu(gpuRate(dcgm.DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL)), legend: GPU_LEGEND }],
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
            queries: [{ expr: `${gpuSeries(dcgm.DCGM_FI_DEV_XID_ERRORS)} > 0`, table: true }],
            hideColumns: ["job", "instance", "UUID", "device", "pci_bus_id", "DCGM_FI_DRIVER_VERSION", "pod", "namespace", "container"],
            renameColumns: { Value: "XID" },
            valueColumn: "XID",
            thresholds: ANY_BAD,
            expectData: false,
          }),
          timeseriesPanel({
            title: "ECC errors",
            description: "Volatile single-bit (corrected) and double-bit (uncorrected) ECC errors in each interval.",
            queries: [
              { expr: gpuCounter("increase", dcgm.DCGM_FI_DEV_ECC_SBE_VOL_TOTAL, "$__rate_interval"), legend: "single-bit " + GPU_LEGEND },
              { expr: gpuCounter("increase", dcgm.DCGM_FI_DEV_ECC_DBE_VOL_TOTAL, "$__rate_interval"), legend: "double-bit " + GPU_LEGEND },
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
              { expr: perGpu(gpuSeries(dcgm.DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS)), legend: "correctable " + GPU_LEGEND },
              { expr: perGpu(gpuSeries(dcgm.DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS)), legend: "uncorrectable " + GPU_LEGEND },
              { expr: perGpu(gpuSeries(dcgm.DCGM_FI_DEV_ROW_REMAP_FAILURE)), legend: "remap failed " + GPU_LEGEND },
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
              { expr: gpuSeries(dcgm.DCGM_FI_PROF_GR_ENGINE_ACTIVE, { pod: ne("") }), table: true },
              { expr: gpuSeries(dcgm.DCGM_FI_DEV_FB_USED, { pod: ne("") }), table: true },
            ],
            merge: true,
            hideColumns: ["job", "instance", "UUID", "device", "pci_bus_id", "DCGM_FI_DRIVER_VERSION", "modelName"],
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
            thresholds: falling(GPU_WASTE_PERCENT / 100, 0.2),
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
            queries: [{ expr: `(${gpuSeries(dcgm.DCGM_FI_PROF_GR_ENGINE_ACTIVE, MIG)}) * 100`, legend: MIG_LEGEND }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: falling(GPU_WASTE_PERCENT, 20),
          }),
          timeseriesPanel({
            title: "MIG instance memory used",
            description: "Framebuffer used per MIG instance.",
            queries: [{ expr: gpuSeries(dcgm.DCGM_FI_DEV_FB_USED, MIG), legend: MIG_LEGEND }],
            unit: "decmbytes",
          }),
        ],
      },
    ],
  };
}
