import { agg, cadvisor, call, ne, node, nre, range, recorded, sel } from "../metrics";
import {
  CONTAINER_CPU,
  CONTAINER_MEMORY,
  CONTAINER_RECEIVE,
  CONTAINER_TRANSMIT,
  cpuOverRange,
  listedIn,
  memoryOverRange,
  networkOverRange,
  TOP_CONTAINERS,
  topContainersVariable,
} from "./containers";
import type { PanelLevels } from "../metrics/thresholds";
import type { DashboardDef } from "./kit/dashboard";
import { barGaugePanel, gaugePanel, NEUTRAL, rising, statPanel, timeseriesPanel } from "./kit/panels";
import { labelValuesVariable } from "./kit/variables";
import { UID } from "./uids";

const HOST = { instance: "$instance" };
/** Pseudo and read-only filesystems whose fill level means nothing. */
const REAL_FS = { ...HOST, fstype: nre("tmpfs|overlay|squashfs|nsfs|ramfs|autofs|fuse.*") };
const CONTAINER = { name: ne("") };

/** Recorded per host (alerts/rules/stack.ts): reading every core's every mode is what made this dashboard slow on big hosts. */
const busyByMode = sel(recorded["instance_mode:node_cpu_busy_percent:rate5m"], HOST);
const cores = sel(recorded["instance:node_cpus:count"], HOST);
const topCpu = topContainersVariable(
  "top_containers_cpu",
  cpuOverRange,
  "Busiest containers (CPU)",
  `The ${TOP_CONTAINERS} containers with the highest average CPU over the time range, drawn in Container CPU.`,
);
const topMemory = topContainersVariable(
  "top_containers_memory",
  memoryOverRange,
  "Largest containers (memory)",
  `The ${TOP_CONTAINERS} containers with the largest working set over the time range, drawn in Container memory.`,
);
const topNetwork = topContainersVariable(
  "top_containers_network",
  networkOverRange,
  "Busiest containers (network)",
  `The ${TOP_CONTAINERS} containers with the most bytes received and sent over the time range, drawn in Container network.`,
);

/** A per-container rate averaged over the step, for the containers a variable lists. */
const rateOf = (rate: typeof CONTAINER_CPU | typeof CONTAINER_RECEIVE | typeof CONTAINER_TRANSMIT, listed: typeof topCpu) =>
  agg("sum", call("avg_over_time", range(rate, "$__rate_interval", listedIn(listed))), ["name"]);

export function hostDashboard(levels: PanelLevels): DashboardDef {
  const memory = levels.hostMemoryUsedPercent;
  const disk = levels.diskUsedPercent;
  const memUsedPercent = `100 * (1 - ${sel(node.node_memory_MemAvailable_bytes, HOST)} / ${sel(node.node_memory_MemTotal_bytes, HOST)})`;
  const fsUsedPercent = (m: typeof REAL_FS | { instance: string; mountpoint: string }) =>
    `100 * (1 - ${sel(node.node_filesystem_avail_bytes, m)} / ${sel(node.node_filesystem_size_bytes, m)})`;
  return {
    uid: UID.host,
    title: "Host",
    description:
      "Is the machine itself the bottleneck? CPU, memory, disk, network and load from node-exporter, " +
      "and the heaviest containers from cAdvisor.",
    tags: ["host", "node"],
    related: [UID.ds01Overview, UID.nvidiaDcgm, UID.stackHealth],
    variables: [
      labelValuesVariable("instance", node.node_uname_info, "instance", {
        label: "Host",
        description: "The node-exporter target to show.",
      }),
      // Ranked once over the whole range, so each container panel reads ten series, not every
      // container that lived in the range.
      topCpu,
      topMemory,
      topNetwork,
    ],
    sections: [
      {
        title: "Overview",
        collapsed: false,
        panels: [
          statPanel({
            title: "Uptime",
            description: "Time since the host booted.",
            queries: [{ expr: `time() - ${sel(node.node_boot_time_seconds, HOST)}`, instant: true }],
            unit: "s",
            thresholds: NEUTRAL,
          }),
          statPanel({
            title: "CPU cores",
            description: "Logical CPUs.",
            queries: [{ expr: cores, instant: true }],
            thresholds: NEUTRAL,
          }),
          gaugePanel({
            title: "CPU busy",
            description: "Share of CPU time not idle.",
            queries: [{ expr: agg("sum", busyByMode), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(levels.fixed.hostCpuBusyPercent.warn, levels.fixed.hostCpuBusyPercent.crit),
          }),
          gaugePanel({
            title: "Memory used",
            description: `Memory not available to new work; DS01 warns when less than ${100 - memory.crit}% is available.`,
            queries: [{ expr: memUsedPercent, instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(memory.warn, memory.crit),
          }),
          gaugePanel({
            title: "Root disk used",
            description: `Fill level of /; DS01 warns below ${100 - disk.warn}% free and calls it low below ${100 - disk.crit}%.`,
            queries: [{ expr: fsUsedPercent({ ...HOST, mountpoint: "/" }), instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(disk.warn, disk.crit),
          }),
          statPanel({
            title: "Load per core",
            description: "1-minute load average divided by the core count; above 1 work is queueing.",
            queries: [{ expr: `${sel(node.node_load1, HOST)} / ${call("scalar", cores)}`, instant: true }],
            decimals: 2,
            thresholds: rising(levels.fixed.loadPerCore.warn, levels.fixed.loadPerCore.crit),
            sparkline: true,
          }),
        ],
      },
      {
        title: "CPU and load",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "CPU by mode",
            description: "Share of all cores spent in each mode (idle left out).",
            queries: [
              {
                expr: busyByMode,
                legend: "{{mode}}",
              },
            ],
            unit: "percent",
            min: 0,
            max: 100,
            stack: true,
          }),
          timeseriesPanel({
            title: "Load average",
            description: "1, 5 and 15-minute load against the core count.",
            queries: [
              { expr: sel(node.node_load1, HOST), legend: "1m" },
              { expr: sel(node.node_load5, HOST), legend: "5m" },
              { expr: sel(node.node_load15, HOST), legend: "15m" },
              { expr: cores, legend: "cores" },
            ],
            unit: "short",
          }),
        ],
      },
      {
        title: "Memory",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Memory",
            description: "Memory in use and still available.",
            queries: [
              {
                expr: `${sel(node.node_memory_MemTotal_bytes, HOST)} - ${sel(node.node_memory_MemAvailable_bytes, HOST)}`,
                legend: "used",
              },
              { expr: sel(node.node_memory_MemAvailable_bytes, HOST), legend: "available" },
            ],
            unit: "bytes",
            stack: true,
          }),
          timeseriesPanel({
            title: "Memory used %",
            description: `Share of memory not available; dashed lines at ${memory.warn}% and ${memory.crit}%.`,
            queries: [{ expr: memUsedPercent, legend: "used" }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(memory.warn, memory.crit),
            thresholdLines: true,
          }),
        ],
      },
      {
        title: "Disk",
        collapsed: true,
        panels: [
          barGaugePanel({
            title: "Filesystems",
            description: "Fill level of each real filesystem.",
            queries: [{ expr: fsUsedPercent(REAL_FS), legend: "{{mountpoint}}", instant: true }],
            unit: "percent",
            min: 0,
            max: 100,
            thresholds: rising(disk.warn, disk.crit),
            width: 12,
          }),
          timeseriesPanel({
            title: "Disk throughput",
            description: "Bytes read and written per second, per device.",
            queries: [
              {
                expr: call("rate", range(node.node_disk_read_bytes_total, "$__rate_interval", HOST)),
                legend: "read {{device}}",
              },
              {
                expr: call("rate", range(node.node_disk_written_bytes_total, "$__rate_interval", HOST)),
                legend: "write {{device}}",
              },
            ],
            unit: "Bps",
          }),
        ],
      },
      {
        title: "Network",
        collapsed: true,
        panels: [
          timeseriesPanel({
            title: "Network traffic",
            description: "Bytes received and sent per second, per interface (loopback left out); sent drawn below the axis.",
            queries: [
              {
                expr: call("rate", range(node.node_network_receive_bytes_total, "$__rate_interval", { ...HOST, device: ne("lo") })),
                legend: "in {{device}}",
              },
              {
                expr: `-${call("rate", range(node.node_network_transmit_bytes_total, "$__rate_interval", { ...HOST, device: ne("lo") }))}`,
                legend: "out {{device}}",
              },
            ],
            unit: "Bps",
            width: 24,
          }),
        ],
      },
      {
        title: "Containers (cAdvisor)",
        collapsed: true,
        panels: [
          timeseriesPanel({
            title: "Container CPU",
            description: "CPU cores used by the ten containers busiest over the time range (listed in $top_containers_cpu).",
            queries: [
              {
                expr: rateOf(CONTAINER_CPU, topCpu),
                legend: "{{name}}",
              },
            ],
            unit: "short",
            expectData: false,
          }),
          timeseriesPanel({
            title: "Container memory",
            description: "Working set of the ten containers largest over the time range (listed in $top_containers_memory).",
            queries: [
              {
                expr: agg("sum", sel(CONTAINER_MEMORY, listedIn(topMemory)), ["name"]),
                legend: "{{name}}",
              },
            ],
            unit: "bytes",
            expectData: false,
          }),
          timeseriesPanel({
            title: "Container network",
            description: "Bytes received and sent per second by the ten containers with the most traffic over the time range (listed in $top_containers_network).",
            queries: [
              {
                expr: rateOf(CONTAINER_RECEIVE, topNetwork),
                legend: "in {{name}}",
              },
              {
                expr: rateOf(CONTAINER_TRANSMIT, topNetwork),
                legend: "out {{name}}",
              },
            ],
            unit: "Bps",
            expectData: false,
          }),
          statPanel({
            title: "Containers",
            description: "Containers cAdvisor saw in the last minute.",
            queries: [
              {
                expr: agg("count", `${sel(cadvisor.container_last_seen, CONTAINER)} > (time() - 60)`),
                instant: true,
              },
            ],
            thresholds: NEUTRAL,
            expectData: false,
            width: 12,
            height: 8,
          }),
        ],
      },
    ],
  };
}
