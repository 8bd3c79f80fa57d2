import { metric } from "./define";

/**
 * NVIDIA DCGM exporter metrics: the default counters, the profiling fields DS01 uses for MIG
 * instances, and the ECC and throttle counters the alerts read. This is also the counter list the
 * stack deploys the exporter with (metrics/dcgm-counters.ts), so every field declared here is one
 * the exporter collects. Label names are the exporter's own. `Hostname` is what the exporter has
 * long emitted; some deployments relabel it to `hostname`, so both are declared.
 */
const GPU_LABELS = [
  "gpu",
  "UUID",
  "device",
  "modelName",
  "Hostname",
  "hostname",
  "pci_bus_id",
  "DCGM_FI_DRIVER_VERSION",
  "GPU_I_ID",
  "GPU_I_PROFILE",
  // Attached by the exporter's Kubernetes pod mapping (kubelet pod-resources).
  "pod",
  "namespace",
  "container",
] as const;

/**
 * DCGM fields the exporter writes as a label on every series (`label` in its counter list)
 * rather than as a series of their own, with their help text.
 */
export const DCGM_LABEL_FIELDS = { DCGM_FI_DRIVER_VERSION: "Driver Version" } as const satisfies Partial<Record<(typeof GPU_LABELS)[number], string>>;

const gpu = <const N extends string>(name: N, type: "gauge" | "counter", help: string, unit?: string) =>
  metric({ name, type, help, labels: GPU_LABELS, source: "dcgm", ...(unit ? { unit } : {}) });

export const dcgm = {
  DCGM_FI_DEV_SM_CLOCK: gpu("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", "rotmhz"),
  DCGM_FI_DEV_MEM_CLOCK: gpu("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", "rotmhz"),
  DCGM_FI_DEV_MEMORY_TEMP: gpu("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).", "celsius"),
  DCGM_FI_DEV_GPU_TEMP: gpu("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", "celsius"),
  DCGM_FI_DEV_POWER_USAGE: gpu("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", "watt"),
  DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: gpu(
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "counter",
    "Total energy consumption since boot (in mJ).",
  ),
  DCGM_FI_DEV_PCIE_REPLAY_COUNTER: gpu("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries."),
  DCGM_FI_DEV_GPU_UTIL: gpu("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", "percent"),
  DCGM_FI_DEV_MEM_COPY_UTIL: gpu("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", "percent"),
  DCGM_FI_DEV_ENC_UTIL: gpu("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %).", "percent"),
  DCGM_FI_DEV_DEC_UTIL: gpu("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %).", "percent"),
  DCGM_FI_DEV_XID_ERRORS: metric({
    name: "DCGM_FI_DEV_XID_ERRORS",
    type: "gauge",
    help: "Value of the last XID error encountered.",
    labels: [...GPU_LABELS, "err_code", "err_msg"],
    source: "dcgm",
  }),
  DCGM_FI_DEV_FB_FREE: gpu("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", "decmbytes"),
  DCGM_FI_DEV_FB_USED: gpu("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", "decmbytes"),
  DCGM_FI_DEV_FB_RESERVED: gpu("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB).", "decmbytes"),
  DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL: gpu(
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
    "counter",
    "Total number of NVLink bandwidth counters for all lanes.",
  ),
  DCGM_FI_DEV_VGPU_LICENSE_STATUS: gpu("DCGM_FI_DEV_VGPU_LICENSE_STATUS", "gauge", "vGPU License status"),
  DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS: gpu(
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
    "counter",
    "Number of remapped rows for uncorrectable errors",
  ),
  DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS: gpu(
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
    "counter",
    "Number of remapped rows for correctable errors",
  ),
  DCGM_FI_DEV_ROW_REMAP_FAILURE: gpu("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed"),
  DCGM_FI_DEV_ECC_SBE_VOL_TOTAL: gpu("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter", "Total number of single-bit volatile ECC errors."),
  DCGM_FI_DEV_ECC_DBE_VOL_TOTAL: gpu("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Total number of double-bit volatile ECC errors."),
  DCGM_FI_DEV_THERMAL_VIOLATION: gpu(
    "DCGM_FI_DEV_THERMAL_VIOLATION",
    "counter",
    "Throttling duration due to thermal constraints (in ns).",
  ),
  DCGM_FI_DEV_POWER_VIOLATION: gpu(
    "DCGM_FI_DEV_POWER_VIOLATION",
    "counter",
    "Throttling duration due to power constraints (in ns).",
  ),
  DCGM_FI_PROF_GR_ENGINE_ACTIVE: gpu(
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "gauge",
    "Ratio of time the graphics engine is active.",
    "percentunit",
  ),
  DCGM_FI_PROF_PIPE_TENSOR_ACTIVE: gpu(
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "gauge",
    "Ratio of cycles the tensor (HMMA) pipe is active.",
    "percentunit",
  ),
  DCGM_FI_PROF_DRAM_ACTIVE: gpu(
    "DCGM_FI_PROF_DRAM_ACTIVE",
    "gauge",
    "Ratio of cycles the device memory interface is active sending or receiving data.",
    "percentunit",
  ),
  DCGM_FI_PROF_PCIE_TX_BYTES: gpu(
    "DCGM_FI_PROF_PCIE_TX_BYTES",
    "gauge",
    "The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.",
    "Bps",
  ),
  DCGM_FI_PROF_PCIE_RX_BYTES: gpu(
    "DCGM_FI_PROF_PCIE_RX_BYTES",
    "gauge",
    "The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.",
    "Bps",
  ),
} as const;

/**
 * DCGM reports "blank" values when a field is not available: 2^63-16 and up for int64 fields,
 * 2^47 for float fields. Any sample at or above 2^47 is not a measurement (a 700 W GPU would
 * need six years to push its mJ energy counter that far), so expressions filter with `< this`.
 */
export const DCGM_SENTINEL_THRESHOLD = 140737488355328;

/**
 * The int64 blank values alone (2^63-16 and up), for counters: every DCGM counter is an int64
 * field, and some pass 2^47 honestly (throttle time in ns after 39 hours of throttling, NVLink
 * traffic within hours), which the float threshold above would take for blanks.
 */
export const DCGM_INT64_SENTINEL_THRESHOLD = 9e18;
