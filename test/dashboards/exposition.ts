import { DCGM_SENTINEL_THRESHOLD } from "../../metrics";

/**
 * A small GPU site in Prometheus' text format, for running every dashboard query against a real
 * Prometheus: host gpu01 (DCGM's `Hostname` spelling) with two full GPUs and one MIG GPU in two
 * instances, host gpu02 (the newer `hostname` spelling) with one GPU, DS01 allocations for two
 * users, cAdvisor's series for twelve containers (the two DS01 ones and ten others) and the
 * root cgroup, a DRM cluster of three workers, and most recording-rule series the dashboards read (liveStack.ts records the rest with the stack's rules).
 * Some DCGM fields carry DCGM's blank value, as a MIG GPU's device utilisation really does,
 * so a test can see the dashboards never show it. Counters grow with `tick`.
 */

/** DCGM's int64 blank (2^63 - 16 as a double), far above DCGM_SENTINEL_THRESHOLD. */
export const DCGM_BLANK = 9223372036854775792;
if (DCGM_BLANK < DCGM_SENTINEL_THRESHOLD) throw new Error("blank below threshold");

export const FIXTURE_HOSTS = ["gpu01", "gpu02"] as const;

type Labels = Record<string, string>;

function line(name: string, labels: Labels, value: number): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  return `${name}${l ? `{${l}}` : ""} ${value}`;
}

interface DcgmEntity {
  readonly labels: Labels;
  readonly util: number;
  readonly grActive: number;
  readonly fbUsed: number;
  readonly fbFree: number;
  /** Whether the GPU's own energy counter reads blank on this entity. */
  readonly blankEnergy?: boolean;
}

function gpuLabels(host: "Hostname" | "hostname", hostName: string, gpu: number, mig?: { id: string; profile: string }): Labels {
  return {
    gpu: String(gpu),
    UUID: `GPU-${hostName}-${gpu}`,
    device: `nvidia${gpu}`,
    modelName: "NVIDIA A100-SXM4-40GB",
    [host]: hostName,
    pci_bus_id: `00000000:0${gpu}:00.0`,
    ...(mig ? { GPU_I_ID: mig.id, GPU_I_PROFILE: mig.profile } : {}),
  };
}

const ENTITIES: readonly DcgmEntity[] = [
  { labels: gpuLabels("Hostname", "gpu01", 0), util: 87, grActive: 0.86, fbUsed: 30000, fbFree: 10000 },
  { labels: gpuLabels("Hostname", "gpu01", 1), util: 3, grActive: 0.02, fbUsed: 1000, fbFree: 39000 },
  // MIG GPU: device utilisation is blank on every instance; instance 2's energy field too.
  { labels: gpuLabels("Hostname", "gpu01", 2, { id: "1", profile: "3g.20gb" }), util: DCGM_BLANK, grActive: 0.42, fbUsed: 9000, fbFree: 11000 },
  {
    labels: gpuLabels("Hostname", "gpu01", 2, { id: "2", profile: "2g.10gb" }),
    util: DCGM_BLANK,
    grActive: 0.07,
    fbUsed: 500,
    fbFree: 9500,
    blankEnergy: true,
  },
  { labels: gpuLabels("hostname", "gpu02", 0), util: 55, grActive: 0.5, fbUsed: 20000, fbFree: 20000 },
];

function dcgmLines(tick: number): string[] {
  const out: string[] = [];
  for (const e of ENTITIES) {
    const l = e.labels;
    out.push(
      line("DCGM_FI_DEV_GPU_UTIL", l, e.util),
      line("DCGM_FI_DEV_MEM_COPY_UTIL", l, e.util === DCGM_BLANK ? DCGM_BLANK : 20),
      line("DCGM_FI_DEV_ENC_UTIL", l, 0),
      line("DCGM_FI_DEV_DEC_UTIL", l, 0),
      line("DCGM_FI_DEV_GPU_TEMP", l, 60 + Number(l.gpu)),
      line("DCGM_FI_DEV_MEMORY_TEMP", l, 55),
      line("DCGM_FI_DEV_POWER_USAGE", l, 250),
      line("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", l, e.blankEnergy ? DCGM_BLANK : 1e9 + tick * 250_000),
      line("DCGM_FI_DEV_SM_CLOCK", l, 1410),
      line("DCGM_FI_DEV_MEM_CLOCK", l, 1215),
      line("DCGM_FI_DEV_FB_USED", l, e.fbUsed),
      line("DCGM_FI_DEV_FB_FREE", l, e.fbFree),
      line("DCGM_FI_DEV_FB_RESERVED", l, 500),
      line("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", l, 0),
      line("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", l, Math.floor(tick / 10)),
      line("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", l, 0),
      line("DCGM_FI_DEV_XID_ERRORS", l, 0),
      line("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", l, 0),
      line("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", l, 0),
      line("DCGM_FI_DEV_ROW_REMAP_FAILURE", l, 0),
      line("DCGM_FI_PROF_GR_ENGINE_ACTIVE", l, e.grActive),
      line("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", l, e.grActive / 2),
      line("DCGM_FI_PROF_DRAM_ACTIVE", l, 0.3),
      line("DCGM_FI_PROF_PCIE_TX_BYTES", l, 1e8),
      line("DCGM_FI_PROF_PCIE_RX_BYTES", l, 2e8),
    );
  }
  return out;
}

const ALLOCATIONS = [
  { gpu_slot: "0", gpu_uuid: "GPU-gpu01-0", profile: "full", container: "train._.alice", user: "alice", interface: "orchestration", eq: 1, util: 87 },
  { gpu_slot: "2.0", gpu_uuid: "MIG-gpu01-2-1", profile: "3g.20gb", container: "nb._.bob", user: "bob", interface: "atomic", eq: 3 / 7, util: 42 },
] as const;

function ds01Lines(tick: number): string[] {
  const out: string[] = [];
  // DS01's groups, cgroup user slices (CPU time grows with tick), logins and lifecycle counts.
  const groups: Record<string, string> = { alice: "students", bob: "researchers" };
  for (const [user, group] of Object.entries(groups)) {
    out.push(
      line("ds01_user_group_info", { user, group }, 1),
      line("ds01_user_cpu_usage_seconds_total", { user, group }, 5_000 + tick * 4),
      line("ds01_user_memory_current_bytes", { user, group }, 8e9),
      line("ds01_ssh_sessions_active", { user }, 1),
    );
  }
  out.push(
    line("ds01_group_members_total", { group: "students" }, 1),
    line("ds01_group_members_total", { group: "researchers" }, 1),
    line("ds01_ssh_sessions_total", {}, 2),
    line("ds01:group_gpu_equivalents", { group: "students" }, 1),
    line("ds01:group_gpu_equivalents", { group: "researchers" }, 3 / 7),
  );
  for (const action of ["idle_kill", "runtime_kill", "oom_kill", "gpu_warning", "memory_warning", "container_warning", "bare_metal_warning"]) {
    out.push(line("ds01_lifecycle_events_total", { action }, action === "idle_kill" ? 2 : 0));
  }
  // GPU 2 is in MIG mode: allocatable only through its instances, so it has no full slot.
  for (const gpu of [0, 1]) {
    out.push(
      line(
        "ds01_gpu_slot_info",
        { gpu: String(gpu), slot: String(gpu), gpu_slot: String(gpu), gpu_uuid: `GPU-gpu01-${gpu}`, model: "NVIDIA A100-SXM4-40GB", mig_enabled: "false" },
        1,
      ),
    );
  }
  out.push(
    line("ds01_mig_slot_info", { gpu: "2", gpu_i_id: "1", slot: "2.0", mig_uuid: "MIG-gpu01-2-1", profile: "3g.20gb" }, 1),
    line("ds01_mig_slot_info", { gpu: "2", gpu_i_id: "2", slot: "2.1", mig_uuid: "MIG-gpu01-2-2", profile: "2g.10gb" }, 1),
  );
  for (const a of ALLOCATIONS) {
    const { eq, util, ...labels } = a;
    out.push(line("ds01_gpu_allocated", labels, 1));
    out.push(line("ds01_gpu_equivalents", { gpu_slot: a.gpu_slot, profile: a.profile, container: a.container, user: a.user }, eq));
    out.push(
      line("ds01:allocation_utilization", { gpu_slot: a.gpu_slot, container: a.container, user: a.user, interface: a.interface }, util),
    );
    for (const name of ["ds01_user_mig_allocated", "ds01_user_gpus_allocated", "ds01_user_containers_count"]) out.push(line(name, { user: a.user }, 1));
    out.push(line("ds01_user_gpu_equivalents", { user: a.user }, eq));
    for (const name of [
      "ds01:user_gpu_utilization_avg",
      "ds01:user_gpu_utilization_max",
      "ds01:user_gpu_memory_percent",
      "ds01:user_gpu_equivalents",
    ]) {
      out.push(line(name, { user: a.user }, util));
    }
  }
  out.push(
    line("ds01_mig_mapping_status", { mapped: "2", unmapped: "0" }, 1),
    line("ds01_containers_total", { status: "running", interface: "orchestration" }, 1),
    line("ds01_containers_total", { status: "running", interface: "atomic" }, 1),
    line("ds01_containers_total", { status: "stopped", interface: "atomic" }, 1),
    line("ds01_unmanaged_gpu_count", {}, 0),
    line("ds01_unmanaged_gpu_running", {}, 0),
    line("ds01_unmanaged_gpu_all_access", {}, 0),
    line("ds01_events_24h_total", { event_type: "gpu.allocate" }, 3),
    line("ds01_state_disk_bytes", { type: "used" }, 4e10),
    line("ds01_state_disk_bytes", { type: "free" }, 6e10),
    line("ds01_state_disk_bytes", { type: "total" }, 1e11),
    line("ds01_state_disk_bytes", { type: "state" }, 1e6),
    line("ds01_exporter_info", { version: "0.1.0", type: "fixture" }, 1),
    line("ds01_exporter_scrape_duration_seconds", {}, 0.004),
  );
  for (const source of ["docker", "events", "drm"]) {
    out.push(
      line("ds01_exporter_source_up", { source }, 1),
      line("ds01_exporter_source_last_success_timestamp_seconds", { source }, 1.7e9),
      line("ds01_exporter_source_errors_total", { source }, 0),
    );
  }
  const system: Record<string, number> = {
    "ds01:system_gpu_utilization_avg": 44,
    "ds01:system_gpu_slots_total": 4,
    "ds01:system_gpu_slots_allocated": 2,
    "ds01:system_gpu_slots_free": 2,
    "ds01:system_gpu_equivalents_total": 3,
    "ds01:system_gpu_equivalents_allocated": 1.43,
    "ds01:system_gpu_equivalents_free": 1.57,
    "ds01:system_active_users": 2,
    "ds01:system_containers_running": 2,
    "ds01:system_gpu_temp_max": 62,
    "ds01:gpu_waste_count": 0,
    "ds01:gpu_waste_percent": 0,
  };
  for (const [name, v] of Object.entries(system)) out.push(line(name, {}, v));
  for (const name of ["ds01:device_utilization", "ds01:device_memory_percent", "ds01:device_temperature", "ds01:device_power_watts"]) {
    out.push(line(name, { device: "GPU 0", gpu: "0", UUID: "GPU-gpu01-0", Hostname: "gpu01" }, 50));
  }
  return out;
}

function drmLines(tick: number): string[] {
  const out = [
    line("drm_cpu_utilization_percent", {}, 60 + (tick % 5)),
    line("drm_memory_utilization_percent", {}, 50),
    line("drm_gpu_utilization_percent", {}, 70),
    line("drm_worker_count", {}, 3),
    line("drm_active_workers", {}, 3),
    line("drm_active_tasks", {}, 12),
    line("drm_pending_tasks", {}, 2),
    line("drm_completed_tasks_total", {}, 100 + tick * 3),
    line("drm_task_throughput_per_second", {}, 3 + (tick % 3) / 10),
    line("drm_allocation_time_milliseconds", {}, 120 + (tick % 4)),
    line("drm_resource_efficiency_percent", {}, 78),
    line("drm_scaling_operations_total", { direction: "up", reason: "high_cpu" }, 2 + Math.floor(tick / 2)),
    line("drm_scaling_operations_total", { direction: "down", reason: "low_utilization" }, 1),
    line("drm_alerts_total", { level: "warning", source: "cpu" }, 1 + Math.floor(tick / 3)),
  ];
  for (const resource of ["cpu", "memory", "gpu"]) {
    for (const [stat, v] of [["min", 30], ["avg", 50], ["max", 70]] as const) {
      out.push(line(`drm:worker_${resource}_utilization_percent:stats`, { stat }, v));
    }
  }
  for (const [i, w] of ["w1", "w2", "w3"].entries()) {
    out.push(
      line("drm_worker_cpu_utilization_percent", { worker_id: w }, 40 + i * 20),
      line("drm_worker_memory_utilization_percent", { worker_id: w }, 30 + i * 10),
      line("drm_worker_gpu_utilization_percent", { worker_id: w }, 50 + i * 15),
      line("drm_worker_tasks", { worker_id: w }, 3 + i),
    );
  }
  return out;
}

interface FixtureContainer {
  readonly name: string;
  /** CPU cores, bytes of working set and limit (0: none), bytes per second received. */
  readonly cores: number;
  readonly memory: number;
  readonly limit: number;
  readonly receive: number;
}

/**
 * The DS01 containers (named as DS01 names them, `<project>._.<user>`, dots and all) and ten others, svc-01 the least busy
 * and smallest: ranked over the range, the ten highest leave svc-01 and svc-02 out.
 */
export const FIXTURE_CONTAINERS: readonly FixtureContainer[] = [
  { name: "train._.alice", cores: 2, memory: 8e9, limit: 16e9, receive: 1e6 },
  { name: "nb._.bob", cores: 0.5, memory: 2e9, limit: 0, receive: 1e5 },
  ...Array.from({ length: 10 }, (_, i) => ({ name: `svc-${String(i + 1).padStart(2, "0")}`, cores: 0.01 * (i + 1), memory: 1e8 * (i + 1), limit: 4e9, receive: 1e3 * (i + 1) })),
];

/** cAdvisor's page: each container's cgroup, and the root cgroup, which has no name. */
function cadvisorLines(tick: number): string[] {
  const cgroups = [...FIXTURE_CONTAINERS.map((c) => ({ ...c, id: `/docker/${c.name}`, image: "fixture:latest" })), { name: "", id: "/", image: "", cores: 8, memory: 6e10, limit: 0, receive: 1e7 }];
  return cgroups.flatMap((c) => {
    const l = { id: c.id, name: c.name, image: c.image };
    return [
      line("container_cpu_usage_seconds_total", { ...l, cpu: "total" }, tick * c.cores),
      line("container_memory_working_set_bytes", l, c.memory),
      line("container_spec_memory_limit_bytes", l, c.limit),
      line("container_network_receive_bytes_total", { ...l, interface: "eth0" }, tick * c.receive),
      line("container_network_transmit_bytes_total", { ...l, interface: "eth0" }, tick * c.receive / 2),
      line("container_last_seen", l, 1.7e9 + tick),
    ];
  });
}

/** A SLURM cluster of two GPU nodes (one drained), two users' GPU jobs and a queue, as the exporter's --slurm source publishes it. */
function slurmLines(): string[] {
  const nodes = [
    { node: "gpu-node-1", state: "mixed", cpus: [48, 16, 64], gpus: [3, 1, 4] },
    { node: "gpu-node-2", state: "drained", cpus: [0, 64, 64], gpus: [0, 4, 4] },
  ];
  const states = ["allocated", "idle", "total"];
  return [
    line("ds01_exporter_source_up", { source: "slurm" }, 1),
    line("slurm_nodes", { state: "mixed" }, 1),
    line("slurm_nodes", { state: "drained" }, 1),
    ...nodes.flatMap((n) => [
      line("slurm_node_state", { node: n.node, state: n.state }, 1),
      ...states.map((s, i) => line("slurm_node_cpus", { node: n.node, state: s }, n.cpus[i]!)),
      ...states.map((s, i) => line("slurm_node_gpus", { node: n.node, state: s }, n.gpus[i]!)),
    ]),
    line("slurm_partition_nodes", { partition: "gpu", state: "mixed" }, 1),
    line("slurm_partition_nodes", { partition: "gpu", state: "drained" }, 1),
    ...states.map((s, i) => line("slurm_partition_cpus", { partition: "gpu", state: s }, [48, 80, 128][i]!)),
    ...states.map((s, i) => line("slurm_partition_gpus", { partition: "gpu", state: s }, [3, 5, 8][i]!)),
    line("slurm_jobs", { state: "running", partition: "gpu", user: "alice", account: "physics" }, 2),
    line("slurm_jobs", { state: "running", partition: "gpu", user: "bob", account: "chem" }, 1),
    line("slurm_jobs", { state: "pending", partition: "gpu", user: "bob", account: "chem" }, 3),
    line("slurm_jobs_pending", { partition: "gpu", reason: "Resources" }, 2),
    line("slurm_jobs_pending", { partition: "gpu", reason: "Priority" }, 1),
    line("slurm_jobs_pending_gpus", { partition: "gpu" }, 6),
    line("slurm_gpu_job_pending_max_seconds", { partition: "gpu" }, 5400),
    line("slurm_job_gpus", { job_id: "101", job_name: "ollama_abc123", user: "alice", account: "physics", partition: "gpu" }, 1),
    line("slurm_job_gpus", { job_id: "102", job_name: "train", user: "alice", account: "physics", partition: "gpu" }, 1),
    line("slurm_job_gpus", { job_id: "103", job_name: "sweep", user: "bob", account: "chem", partition: "gpu" }, 1),
    line("slurm_discovered_targets", { scrape_job: "ollama" }, 1),
    line("slurm_command_duration_seconds", { command: "squeue" }, 0.04),
    line("slurm_command_duration_seconds", { command: "sinfo" }, 0.03),
  ];
}

/**
 * A Kubernetes GPU node as kube-state-metrics reports it, and the requests recording rule the
 * k8s-gpu-workloads dashboard's namespace variable reads (its queries are run on full
 * kube-state-metrics and DCGM pages by test/kubernetes/kube-state-metrics-live.test.ts).
 */
function kubernetesLines(): string[] {
  return [
    line("kube_node_status_allocatable", { node: "gpu-node-1", resource: "nvidia_com_gpu", unit: "integer" }, 8),
    line("kube_node_status_capacity", { node: "gpu-node-1", resource: "nvidia_com_gpu", unit: "integer" }, 8),
    line("k8s:pod_gpu_requests", { namespace: "research", pod: "train-0", node: "gpu-node-1", resource: "nvidia_com_gpu" }, 4),
    line("k8s:pod_gpu_requests", { namespace: "vision", pod: "nb-0", resource: "nvidia_com_mig_1g_10gb" }, 1),
  ];
}

export function fixtureExposition(tick: number): string {
  return `${[...dcgmLines(tick), ...ds01Lines(tick), ...cadvisorLines(tick), ...drmLines(tick), ...slurmLines(), ...kubernetesLines()].join("\n")}\n`;
}
