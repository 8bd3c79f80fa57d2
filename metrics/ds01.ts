import { metric } from "./define";

/**
 * DS01 allocation metrics. Names and labels follow DS01's own exporter so its dashboards and
 * silences keep working. A slot is a full GPU's index ("0") or `<gpu>.<mig index>` ("1.0").
 */
export const ds01 = {
  ds01_gpu_allocated: metric({
    name: "ds01_gpu_allocated",
    type: "gauge",
    help: "1 for each GPU or MIG slot held by a DS01 container.",
    labels: ["gpu_slot", "gpu_uuid", "profile", "container", "user", "interface"],
    source: "ds01",
  }),
  ds01_gpu_equivalents: metric({
    name: "ds01_gpu_equivalents",
    type: "gauge",
    help: "GPU-equivalents of one allocation: 1 for a full GPU, N/7 for a MIG Ng.* profile.",
    labels: ["gpu_slot", "profile", "container", "user"],
    source: "ds01",
  }),
  ds01_gpu_slot_info: metric({
    name: "ds01_gpu_slot_info",
    type: "gauge",
    help: "One series per physical GPU the host has (value 1).",
    labels: ["gpu", "gpu_slot", "gpu_uuid", "model", "mig_enabled"],
    source: "ds01",
  }),
  ds01_mig_slot_info: metric({
    name: "ds01_mig_slot_info",
    type: "gauge",
    help: "One series per MIG instance, mapping DS01's slot to DCGM's gpu and GPU_I_ID (value 1).",
    labels: ["gpu", "gpu_i_id", "slot", "mig_uuid", "profile"],
    source: "ds01",
  }),
  ds01_mig_mapping_status: metric({
    name: "ds01_mig_mapping_status",
    type: "gauge",
    help: "1 if every MIG UUID a container holds maps to a known slot, 0 if any does not.",
    source: "ds01",
  }),
  ds01_containers_total: metric({
    name: "ds01_containers_total",
    type: "gauge",
    help: "DS01 containers by status and interface.",
    labels: ["status", "interface"],
    source: "ds01",
    legacyName: true,
  }),
  ds01_user_mig_allocated: metric({
    name: "ds01_user_mig_allocated",
    type: "gauge",
    help: "GPU and MIG slots allocated to a user.",
    labels: ["user"],
    source: "ds01",
  }),
  ds01_user_gpu_equivalents: metric({
    name: "ds01_user_gpu_equivalents",
    type: "gauge",
    help: "GPU-equivalents allocated to a user.",
    labels: ["user"],
    source: "ds01",
  }),
  ds01_user_containers_count: metric({
    name: "ds01_user_containers_count",
    type: "gauge",
    help: "DS01 containers owned by a user.",
    labels: ["user"],
    source: "ds01",
    legacyName: true,
  }),
  ds01_unmanaged_gpu_count: metric({
    name: "ds01_unmanaged_gpu_count",
    type: "gauge",
    help: "Containers holding GPUs that DS01 does not manage.",
    source: "ds01",
    legacyName: true,
  }),
  ds01_unmanaged_gpu_running: metric({
    name: "ds01_unmanaged_gpu_running",
    type: "gauge",
    help: "Running containers holding GPUs that DS01 does not manage.",
    source: "ds01",
  }),
  ds01_unmanaged_gpu_all_access: metric({
    name: "ds01_unmanaged_gpu_all_access",
    type: "gauge",
    help: "Unmanaged containers with access to all GPUs (--gpus all).",
    source: "ds01",
  }),
  ds01_events_24h_total: metric({
    name: "ds01_events_24h_total",
    type: "gauge",
    help: "Events in the DS01 events log over the last 24 hours, by type.",
    labels: ["event_type"],
    source: "ds01",
    legacyName: true,
  }),
  ds01_state_disk_bytes: metric({
    name: "ds01_state_disk_bytes",
    type: "gauge",
    help: "Disk space of the filesystem holding DS01's state directory (used, free, total) and the directory's own size (state).",
    labels: ["type"],
    source: "ds01",
    unit: "bytes",
  }),
  ds01_exporter_info: metric({
    name: "ds01_exporter_info",
    type: "gauge",
    help: "Exporter version and the sources it reads (value 1).",
    labels: ["version", "type"],
    source: "ds01",
  }),
} as const;

/** The exporter's reports on itself, one series per source (docker, state_file, events, drm, ...). */
export const exporterSelf = {
  ds01_exporter_source_up: metric({
    name: "ds01_exporter_source_up",
    type: "gauge",
    help: "1 if the source's last read succeeded, 0 if it failed (its last good values are kept).",
    labels: ["source"],
    source: "exporter",
  }),
  ds01_exporter_source_last_success_timestamp_seconds: metric({
    name: "ds01_exporter_source_last_success_timestamp_seconds",
    type: "gauge",
    help: "Unix time of the source's last successful read.",
    labels: ["source"],
    source: "exporter",
    unit: "dateTimeAsIso",
  }),
  ds01_exporter_source_errors_total: metric({
    name: "ds01_exporter_source_errors_total",
    type: "counter",
    help: "Failed reads of the source.",
    labels: ["source"],
    source: "exporter",
  }),
  ds01_exporter_source_dropped_total: metric({
    name: "ds01_exporter_source_dropped_total",
    type: "counter",
    help: "Items the source read but left out because a cap was reached (event types past the type cap, containers past the series cap).",
    labels: ["source"],
    source: "exporter",
  }),
  ds01_exporter_collector_success: metric({
    name: "ds01_exporter_collector_success",
    type: "gauge",
    help: "1 if the collector's last refresh finished in time without error, 0 if it threw or timed out.",
    labels: ["collector"],
    source: "exporter",
  }),
  ds01_exporter_collector_duration_seconds: metric({
    name: "ds01_exporter_collector_duration_seconds",
    type: "gauge",
    help: "Time the collector's last refresh took (capped at the refresh timeout).",
    labels: ["collector"],
    source: "exporter",
    unit: "s",
  }),
  ds01_exporter_scrape_duration_seconds: metric({
    name: "ds01_exporter_scrape_duration_seconds",
    type: "gauge",
    help: "Time the exporter took to serve its last /metrics request.",
    source: "exporter",
    unit: "s",
  }),
} as const;
