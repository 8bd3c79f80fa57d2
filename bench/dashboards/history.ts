import { DCGM_BLANK } from "../../test/dashboards/exposition";
import type { BenchShape } from "./shape";

/**
 * The raw series one GPU host's exporters would have written over the benchmark's history, with
 * the labels the real exporters use (DCGM with `Hostname`, node-exporter, cAdvisor, the DS01 and
 * DRM exporter, Prometheus' own), and with churn: containers and DRM workers come and go, so a
 * week holds many more series than any one scrape. Values are deterministic waves, so two runs
 * of the same shape write the same TSDB.
 */

type Labels = Readonly<Record<string, string>>;

export interface SeriesDef {
  readonly name: string;
  readonly labels: Labels;
  /** Life of the series, unix seconds, [from, to). */
  readonly from: number;
  readonly to: number;
  /** Counters grow by `level` per second; gauges wave around `level` by `swing`. */
  readonly counter: boolean;
  readonly level: number;
  readonly swing: number;
  readonly phase: number;
}

export const HOST = "gpu01";
const HOUR = 3600;

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
}

export function valueAt(s: SeriesDef, t: number): number {
  if (s.counter) return Math.round(s.level * (t - s.from) * (1 + 0.2 * Math.sin(t / 5000 + s.phase)));
  if (s.swing === 0) return s.level;
  const v = s.level + s.swing * Math.sin(t / 3000 + s.phase * 6.28) + s.swing * 0.3 * Math.sin(t / 97 + s.phase * 17);
  return Math.round(v * 100) / 100;
}

/** Every series of the host over [start, end). */
export function hostSeries(shape: BenchShape, start: number, end: number): SeriesDef[] {
  const out: SeriesDef[] = [];
  const add = (name: string, labels: Labels, opts: { counter?: boolean; level: number; swing?: number; from?: number; to?: number }): void => {
    out.push({
      name,
      labels,
      from: opts.from ?? start,
      to: opts.to ?? end,
      counter: opts.counter ?? false,
      level: opts.level,
      swing: opts.swing ?? 0,
      phase: hash(name + JSON.stringify(labels)),
    });
  };
  const job = (j: string, port: number) => ({ job: j, instance: `${HOST}:${port}` });

  // DCGM: one entity per full GPU, one per MIG instance (whose device-level utilisation reads blank).
  const dcgm = job("dcgm-exporter", 9400);
  const entities: { labels: Labels; mig: boolean; slot: string; uuid: string }[] = [];
  for (let g = 0; g < shape.gpus; g++) {
    const base = { ...dcgm, gpu: String(g), UUID: `GPU-${HOST}-${g}`, device: `nvidia${g}`, modelName: "NVIDIA A100-SXM4-80GB", Hostname: HOST, pci_bus_id: `00000000:${String(g + 10).padStart(2, "0")}:00.0` };
    if (g < shape.gpus - shape.migGpus) entities.push({ labels: base, mig: false, slot: String(g), uuid: base.UUID });
    else
      for (let i = 0; i < shape.migInstances; i++)
        entities.push({ labels: { ...base, GPU_I_ID: String(i + 1), GPU_I_PROFILE: "1g.10gb" }, mig: true, slot: `${g}.${i}`, uuid: `MIG-${HOST}-${g}-${i}` });
  }
  const gauges: [string, number, number][] = [
    ["DCGM_FI_DEV_GPU_UTIL", 50, 45],
    ["DCGM_FI_DEV_MEM_COPY_UTIL", 20, 15],
    ["DCGM_FI_DEV_ENC_UTIL", 0, 0],
    ["DCGM_FI_DEV_DEC_UTIL", 0, 0],
    ["DCGM_FI_DEV_GPU_TEMP", 60, 15],
    ["DCGM_FI_DEV_MEMORY_TEMP", 55, 10],
    ["DCGM_FI_DEV_POWER_USAGE", 250, 150],
    ["DCGM_FI_DEV_SM_CLOCK", 1410, 300],
    ["DCGM_FI_DEV_MEM_CLOCK", 1593, 0],
    ["DCGM_FI_DEV_FB_USED", 40000, 30000],
    ["DCGM_FI_DEV_FB_FREE", 40000, 30000],
    ["DCGM_FI_DEV_FB_RESERVED", 500, 0],
    ["DCGM_FI_DEV_XID_ERRORS", 0, 0],
    ["DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", 0, 0],
    ["DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", 0, 0],
    ["DCGM_FI_DEV_ROW_REMAP_FAILURE", 0, 0],
    ["DCGM_FI_PROF_GR_ENGINE_ACTIVE", 0.5, 0.45],
    ["DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", 0.25, 0.2],
    ["DCGM_FI_PROF_DRAM_ACTIVE", 0.3, 0.2],
    ["DCGM_FI_PROF_PCIE_TX_BYTES", 1e8, 5e7],
    ["DCGM_FI_PROF_PCIE_RX_BYTES", 2e8, 1e8],
  ];
  const counters: [string, number][] = [
    ["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 250_000],
    ["DCGM_FI_DEV_PCIE_REPLAY_COUNTER", 0],
    ["DCGM_FI_DEV_THERMAL_VIOLATION", 0],
    ["DCGM_FI_DEV_POWER_VIOLATION", 1000],
    ["DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", 1e6],
    ["DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", 0],
    ["DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", 0],
  ];
  for (const e of entities) {
    for (const [name, level, swing] of gauges) {
      const blank = e.mig && (name === "DCGM_FI_DEV_GPU_UTIL" || name === "DCGM_FI_DEV_MEM_COPY_UTIL");
      add(name, e.labels, blank ? { level: DCGM_BLANK } : { level, swing });
    }
    for (const [name, rate] of counters) add(name, e.labels, { counter: true, level: rate });
  }

  // DS01 exporter: slots, allocations of the containers alive at each moment, users.
  const ds01 = job("ds01-exporter", 9101);
  for (let g = 0; g < shape.gpus; g++) {
    const mig = g >= shape.gpus - shape.migGpus;
    add("ds01_gpu_slot_info", { ...ds01, gpu: String(g), gpu_slot: String(g), gpu_uuid: `GPU-${HOST}-${g}`, model: "NVIDIA A100-SXM4-80GB", mig_enabled: String(mig) }, { level: 1 });
  }
  for (const e of entities.filter((x) => x.mig))
    add("ds01_mig_slot_info", { ...ds01, gpu: e.labels.gpu ?? "", gpu_i_id: e.labels.GPU_I_ID ?? "", slot: e.slot, mig_uuid: e.uuid, profile: "1g.10gb" }, { level: 1 });
  const interfaces = ["orchestration", "atomic", "api", "other"];
  const containerLife = shape.containerHours * HOUR;
  const containers: { name: string; from: number; to: number; index: number }[] = [];
  for (let c = 0; c < shape.containers; c++) {
    // Staggered so that `containers` are alive at every moment and each one lives containerLife.
    for (let from = start - ((c * containerLife) / Math.max(1, shape.containers)); from < end; from += containerLife) {
      const index = containers.length;
      containers.push({ name: `job-${index}._.${1000 + (index % shape.users)}`, from: Math.max(start, from), to: Math.min(end, from + containerLife), index });
    }
  }
  for (const c of containers) {
    const e = entities[c.index % entities.length];
    if (!e) continue;
    const user = `user${c.index % shape.users}`;
    const iface = interfaces[c.index % interfaces.length] ?? "other";
    const profile = e.mig ? "1g.10gb" : "full";
    const life = { from: c.from, to: c.to };
    add("ds01_gpu_allocated", { ...ds01, gpu_slot: e.slot, gpu_uuid: e.uuid, profile, container: c.name, user, interface: iface }, { level: 1, ...life });
    add("ds01_gpu_equivalents", { ...ds01, gpu_slot: e.slot, profile, container: c.name, user }, { level: e.mig ? 1 / 7 : 1, ...life });
    // cAdvisor's view of the same container.
    const cad = { ...job("cadvisor", 8080), id: `/docker/${c.index.toString(16).padStart(12, "0")}`, image: "pytorch/pytorch:2.4", name: c.name };
    add("container_cpu_usage_seconds_total", cad, { counter: true, level: 4, ...life });
    add("container_memory_working_set_bytes", cad, { level: 8e9, swing: 4e9, ...life });
    add("container_spec_memory_limit_bytes", cad, { level: 32e9, ...life });
    add("container_network_receive_bytes_total", { ...cad, interface: "eth0" }, { counter: true, level: 1e6, ...life });
    add("container_network_transmit_bytes_total", { ...cad, interface: "eth0" }, { counter: true, level: 5e5, ...life });
    add("container_last_seen", cad, { counter: true, level: 1, ...life });
  }
  for (let i = 0; i < 10; i++) {
    const cad = { ...job("cadvisor", 8080), id: `/system.slice/unit${i}.service`, image: "", name: "" };
    add("container_cpu_usage_seconds_total", cad, { counter: true, level: 0.05 });
    add("container_memory_working_set_bytes", cad, { level: 5e7, swing: 1e7 });
  }
  for (let u = 0; u < shape.users; u++) {
    const user = { ...ds01, user: `user${u}` };
    add("ds01_user_mig_allocated", user, { level: 1 });
    add("ds01_user_containers_count", user, { level: 2 });
    add("ds01_user_gpu_equivalents", user, { level: 1 });
  }
  for (const status of ["running", "stopped"]) for (const iface of interfaces) add("ds01_containers_total", { ...ds01, status, interface: iface }, { level: 3, swing: 2 });
  add("ds01_mig_mapping_status", ds01, { level: 1 });
  for (const n of ["ds01_unmanaged_gpu_count", "ds01_unmanaged_gpu_running", "ds01_unmanaged_gpu_all_access"]) add(n, ds01, { level: 0 });
  for (const t of ["gpu.allocate", "gpu.release", "container.create", "container.remove"]) add("ds01_events_24h_total", { ...ds01, event_type: t }, { level: 40, swing: 20 });
  for (const [t, v] of [["used", 4e10], ["free", 6e10], ["total", 1e11], ["state", 1e6]] as const) add("ds01_state_disk_bytes", { ...ds01, type: t }, { level: v });
  add("ds01_exporter_info", { ...ds01, version: "0.1.0", type: "host" }, { level: 1 });
  add("ds01_exporter_scrape_duration_seconds", ds01, { level: 0.004, swing: 0.002 });
  for (const source of ["docker", "events", "drm"]) {
    add("ds01_exporter_source_up", { ...ds01, source }, { level: 1 });
    add("ds01_exporter_source_last_success_timestamp_seconds", { ...ds01, source }, { counter: true, level: 1 });
    add("ds01_exporter_source_errors_total", { ...ds01, source }, { counter: true, level: 0 });
  }

  // DRM: cluster figures and one series per worker that ever existed.
  for (const [n, level, swing] of [
    ["drm_cpu_utilization_percent", 60, 30],
    ["drm_memory_utilization_percent", 50, 20],
    ["drm_gpu_utilization_percent", 70, 25],
    ["drm_worker_count", shape.workers, 0],
    ["drm_active_workers", shape.workers, 2],
    ["drm_active_tasks", 12, 8],
    ["drm_pending_tasks", 2, 2],
    ["drm_task_throughput_per_second", 3, 1],
    ["drm_allocation_time_milliseconds", 120, 40],
    ["drm_resource_efficiency_percent", 78, 10],
  ] as const)
    add(n, ds01, { level, swing });
  add("drm_completed_tasks_total", ds01, { counter: true, level: 3 });
  for (const [direction, reason] of [["up", "high_cpu"], ["up", "pending_tasks"], ["down", "low_utilization"], ["down", "idle"]] as const)
    add("drm_scaling_operations_total", { ...ds01, direction, reason }, { counter: true, level: 0.001 });
  for (const [level, source] of [["warning", "cpu"], ["critical", "memory"], ["warning", "gpu"]] as const)
    add("drm_alerts_total", { ...ds01, level, source }, { counter: true, level: 0.0005 });
  const workerLife = shape.workerHours * HOUR;
  let worker = 0;
  for (let w = 0; w < shape.workers; w++) {
    for (let from = start - ((w * workerLife) / Math.max(1, shape.workers)); from < end; from += workerLife) {
      const life = { from: Math.max(start, from), to: Math.min(end, from + workerLife) };
      const l = { ...ds01, worker_id: `worker-${worker++}` };
      add("drm_worker_cpu_utilization_percent", l, { level: 50, swing: 40, ...life });
      add("drm_worker_memory_utilization_percent", l, { level: 40, swing: 30, ...life });
      add("drm_worker_gpu_utilization_percent", l, { level: 60, swing: 35, ...life });
      add("drm_worker_tasks", l, { level: 4, swing: 3, ...life });
    }
  }

  // node-exporter: the families the host dashboard reads.
  const node = job("node-exporter", 9100);
  const modes: [string, number][] = [["idle", 0.6], ["user", 0.3], ["system", 0.05], ["iowait", 0.02], ["irq", 0.005], ["softirq", 0.01], ["steal", 0], ["nice", 0.005]];
  for (let c = 0; c < shape.cpus; c++) for (const [mode, share] of modes) add("node_cpu_seconds_total", { ...node, cpu: String(c), mode }, { counter: true, level: share });
  add("node_uname_info", { ...node, nodename: HOST, release: "6.1.0-28-amd64", machine: "x86_64", sysname: "Linux" }, { level: 1 });
  add("node_boot_time_seconds", node, { level: start - 86400 });
  add("node_memory_MemTotal_bytes", node, { level: 1.0e12 });
  add("node_memory_MemAvailable_bytes", node, { level: 6e11, swing: 2e11 });
  for (const n of ["node_load1", "node_load5", "node_load15"]) add(n, node, { level: shape.cpus / 2, swing: shape.cpus / 4 });
  for (const [mountpoint, device, fstype] of [["/", "/dev/nvme0n1p2", "ext4"], ["/boot", "/dev/nvme0n1p1", "vfat"], ["/data", "/dev/md0", "xfs"], ["/run", "tmpfs", "tmpfs"]] as const) {
    const fs = { ...node, mountpoint, device, fstype };
    add("node_filesystem_size_bytes", fs, { level: 2e12 });
    add("node_filesystem_avail_bytes", fs, { level: 1e12, swing: 1e11 });
  }
  for (const device of ["nvme0n1", "nvme1n1", "sda", "md0"]) {
    add("node_disk_read_bytes_total", { ...node, device }, { counter: true, level: 5e6 });
    add("node_disk_written_bytes_total", { ...node, device }, { counter: true, level: 3e6 });
  }
  for (const device of ["lo", "eno1", "docker0", "ib0"]) {
    add("node_network_receive_bytes_total", { ...node, device }, { counter: true, level: 1e7 });
    add("node_network_transmit_bytes_total", { ...node, device }, { counter: true, level: 5e6 });
  }

  // Prometheus' view of its targets and itself, for the stack-health dashboard.
  const jobs: [string, number][] = [["prometheus", 9090], ["alertmanager", 9093], ["node-exporter", 9100], ["dcgm-exporter", 9400], ["cadvisor", 8080], ["ds01-exporter", 9101]];
  for (const [j, port] of jobs) {
    const l = job(j, port);
    add("up", l, { level: 1 });
    add("scrape_duration_seconds", l, { level: 0.02, swing: 0.01 });
    add("scrape_samples_scraped", l, { level: 500, swing: 50 });
  }
  const prom = job("prometheus", 9090);
  add("prometheus_tsdb_head_series", prom, { level: 20000, swing: 2000 });
  add("prometheus_config_last_reload_successful", prom, { level: 1 });
  add("alertmanager_config_last_reload_successful", job("alertmanager", 9093), { level: 1 });
  for (const g of ["ds01", "dcgm", "drm", "stack"]) {
    add("prometheus_rule_group_last_duration_seconds", { ...prom, rule_group: `/etc/prometheus/rules/${g}.yml;${g}` }, { level: 0.005, swing: 0.002 });
    add("prometheus_rule_evaluation_failures_total", { ...prom, rule_group: `/etc/prometheus/rules/${g}.yml;${g}` }, { counter: true, level: 0 });
  }
  for (const integration of ["email", "webhook", "slack"]) {
    add("alertmanager_notifications_total", { ...job("alertmanager", 9093), integration }, { counter: true, level: 0.001 });
    add("alertmanager_notifications_failed_total", { ...job("alertmanager", 9093), integration }, { counter: true, level: 0 });
  }
  for (const state of ["active", "suppressed", "unprocessed"]) add("alertmanager_alerts", { ...job("alertmanager", 9093), state }, { level: 1 });
  add("prometheus_notifications_dropped_total", prom, { counter: true, level: 0 });
  add("prometheus_tsdb_storage_blocks_bytes", prom, { level: 5e9, swing: 1e9 });
  add("prometheus_tsdb_wal_storage_size_bytes", prom, { level: 1e8, swing: 5e7 });
  return out;
}

function labelText(s: SeriesDef): string {
  return Object.entries(s.labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
}

/**
 * OpenMetrics text for the samples in [from, to): families kept together and each series' samples
 * in time order, as promtool's backfill requires.
 */
export function openMetricsWindow(series: readonly SeriesDef[], from: number, to: number, interval: number, write: (chunk: string) => void): number {
  let samples = 0;
  const byFamily = new Map<string, SeriesDef[]>();
  for (const s of series) if (s.from < to && s.to > from) (byFamily.get(s.name) ?? byFamily.set(s.name, []).get(s.name))?.push(s);
  for (const [name, members] of byFamily) {
    write(`# TYPE ${name} unknown\n`);
    for (const s of members) {
      const prefix = `${name}{${labelText(s)}} `;
      const first = Math.ceil(Math.max(from, s.from) / interval) * interval;
      const last = Math.min(to, s.to);
      let chunk = "";
      for (let t = first; t < last; t += interval) {
        chunk += `${prefix}${valueAt(s, t)} ${t}\n`;
        samples++;
      }
      write(chunk);
    }
  }
  write("# EOF\n");
  return samples;
}
