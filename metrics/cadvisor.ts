import { metric } from "./define";

/** cAdvisor labels: `name` is the Docker container name, `id` the cgroup path. */
const CONTAINER_LABELS = ["id", "name", "image", "container", "pod", "namespace"] as const;

/** cAdvisor metrics the dashboards and rules use. */
export const cadvisor = {
  container_cpu_usage_seconds_total: metric({
    name: "container_cpu_usage_seconds_total",
    type: "counter",
    help: "Cumulative cpu time consumed in seconds.",
    labels: [...CONTAINER_LABELS, "cpu"],
    source: "cadvisor",
    unit: "s",
  }),
  container_memory_working_set_bytes: metric({
    name: "container_memory_working_set_bytes",
    type: "gauge",
    help: "Current working set in bytes.",
    labels: CONTAINER_LABELS,
    source: "cadvisor",
    unit: "bytes",
  }),
  container_spec_memory_limit_bytes: metric({
    name: "container_spec_memory_limit_bytes",
    type: "gauge",
    help: "Memory limit for the container.",
    labels: CONTAINER_LABELS,
    source: "cadvisor",
    unit: "bytes",
  }),
  container_spec_cpu_quota: metric({
    name: "container_spec_cpu_quota",
    type: "gauge",
    help: "CPU quota of the container.",
    labels: CONTAINER_LABELS,
    source: "cadvisor",
  }),
  container_network_receive_bytes_total: metric({
    name: "container_network_receive_bytes_total",
    type: "counter",
    help: "Cumulative count of bytes received.",
    labels: [...CONTAINER_LABELS, "interface"],
    source: "cadvisor",
    unit: "Bps",
  }),
  container_network_transmit_bytes_total: metric({
    name: "container_network_transmit_bytes_total",
    type: "counter",
    help: "Cumulative count of bytes transmitted.",
    labels: [...CONTAINER_LABELS, "interface"],
    source: "cadvisor",
    unit: "Bps",
  }),
  container_last_seen: metric({
    name: "container_last_seen",
    type: "gauge",
    help: "Last time a container was seen by the exporter.",
    labels: CONTAINER_LABELS,
    source: "cadvisor",
    unit: "dateTimeAsIso",
  }),
} as const;
