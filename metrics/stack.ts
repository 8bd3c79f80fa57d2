import { metric } from "./define";
import { SLURM_TARGET_LABELS } from "./slurm";

/** Series every scrape produces, and the self-metrics of Prometheus, Alertmanager and Grafana. */
export const stack = {
  up: metric({
    name: "up",
    type: "gauge",
    help: "1 if the target's last scrape succeeded.",
    // Targets discovered from SLURM jobs carry the job's labels.
    labels: SLURM_TARGET_LABELS,
    source: "prometheus",
  }),
  scrape_duration_seconds: metric({
    name: "scrape_duration_seconds",
    type: "gauge",
    help: "Duration of the target's last scrape.",
    source: "prometheus",
    unit: "s",
  }),
  scrape_samples_scraped: metric({
    name: "scrape_samples_scraped",
    type: "gauge",
    help: "Samples the target's last scrape exposed.",
    source: "prometheus",
  }),
  scrape_series_added: metric({
    name: "scrape_series_added",
    type: "gauge",
    help: "Approximate number of new series in the target's last scrape.",
    source: "prometheus",
  }),
  prometheus_config_last_reload_successful: metric({
    name: "prometheus_config_last_reload_successful",
    type: "gauge",
    help: "Whether the last configuration reload attempt was successful.",
    source: "prometheus",
  }),
  prometheus_rule_evaluation_failures_total: metric({
    name: "prometheus_rule_evaluation_failures_total",
    type: "counter",
    help: "The total number of rule evaluation failures.",
    labels: ["rule_group"],
    source: "prometheus",
  }),
  prometheus_rule_group_last_duration_seconds: metric({
    name: "prometheus_rule_group_last_duration_seconds",
    type: "gauge",
    help: "The duration of the last rule group evaluation.",
    labels: ["rule_group"],
    source: "prometheus",
    unit: "s",
  }),
  prometheus_tsdb_storage_blocks_bytes: metric({
    name: "prometheus_tsdb_storage_blocks_bytes",
    type: "gauge",
    help: "The number of bytes that are currently used for local storage by all blocks.",
    source: "prometheus",
    unit: "bytes",
  }),
  prometheus_tsdb_head_series: metric({
    name: "prometheus_tsdb_head_series",
    type: "gauge",
    help: "Total number of series in the head block.",
    source: "prometheus",
  }),
  prometheus_tsdb_wal_storage_size_bytes: metric({
    name: "prometheus_tsdb_wal_storage_size_bytes",
    type: "gauge",
    help: "Size of the write log directory.",
    source: "prometheus",
    unit: "bytes",
  }),
  prometheus_notifications_dropped_total: metric({
    name: "prometheus_notifications_dropped_total",
    type: "counter",
    help: "Total number of alerts dropped due to errors when sending to Alertmanager.",
    source: "prometheus",
  }),
  alertmanager_notifications_total: metric({
    name: "alertmanager_notifications_total",
    type: "counter",
    help: "The total number of attempted notifications.",
    labels: ["integration"],
    source: "alertmanager",
  }),
  alertmanager_notifications_failed_total: metric({
    name: "alertmanager_notifications_failed_total",
    type: "counter",
    help: "The total number of failed notifications.",
    labels: ["integration", "reason"],
    source: "alertmanager",
  }),
  alertmanager_alerts: metric({
    name: "alertmanager_alerts",
    type: "gauge",
    help: "How many alerts by state.",
    labels: ["state"],
    source: "alertmanager",
  }),
  alertmanager_config_last_reload_successful: metric({
    name: "alertmanager_config_last_reload_successful",
    type: "gauge",
    help: "Whether the last configuration reload attempt was successful.",
    source: "alertmanager",
  }),
  ALERTS: metric({
    name: "ALERTS",
    type: "gauge",
    help: "Alerts Prometheus currently holds pending or firing.",
    labels: ["alertname", "alertstate", "severity"],
    source: "prometheus",
  }),
  process_cpu_seconds_total: metric({
    name: "process_cpu_seconds_total",
    type: "counter",
    help: "CPU time a scraped process (Prometheus, an exporter) has used, user plus system.",
    source: "prometheus",
    unit: "s",
  }),
  process_resident_memory_bytes: metric({
    name: "process_resident_memory_bytes",
    type: "gauge",
    help: "Resident memory of a scraped process (Prometheus, an exporter).",
    source: "prometheus",
    unit: "bytes",
  }),
} as const;
