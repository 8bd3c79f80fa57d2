import type { ServiceName } from "../spec";

export type Profile = "dev" | "prod";
export type Platform = "docker" | "kubernetes";

/**
 * Official images, pinned. Prometheus 3.x (the generated config also passes the 2.42 promtool
 * the tests run); Alertmanager 0.28 for msteamsv2/webhook_url_file; DCGM 4.x with the DCP
 * counter list for MIG. `exporter` is built from exporter/Dockerfile and pushed by the operator.
 */
export const DEFAULT_IMAGES: Readonly<Record<ServiceName, string>> = {
  prometheus: "prom/prometheus:v3.5.0",
  alertmanager: "prom/alertmanager:v0.28.1",
  grafana: "grafana/grafana-oss:12.1.1",
  nodeExporter: "prom/node-exporter:v1.9.1",
  dcgmExporter: "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04",
  cadvisor: "gcr.io/cadvisor/cadvisor:v0.52.1",
  exporter: "gpu-monitoring/exporter:0.1.0",
};

/** Host ports, as DS01 publishes them. */
export const DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = {
  prometheus: 9090,
  alertmanager: 9093,
  grafana: 3000,
  nodeExporter: 9100,
  dcgmExporter: 9400,
  cadvisor: 8080,
  exporter: 9101,
};

/** Ports each image listens on inside its container; fixed by the images, not configurable. */
export const CONTAINER_PORTS: Readonly<Record<ServiceName, number>> = { ...DEFAULT_PORTS };

/** Port of the exporter's simulated DCGM endpoint, inside its container and published by default. */
export const SIMULATED_DCGM_PORT = 9400;

/** Scrape intervals per job, DS01's: GPU and node 15s, our exporter 30s, the stack itself 30s. */
export const DEFAULT_SCRAPE_INTERVALS: Readonly<Record<ServiceName | "default", string>> = {
  default: "15s",
  prometheus: "30s",
  alertmanager: "30s",
  grafana: "30s",
  nodeExporter: "15s",
  dcgmExporter: "15s",
  cadvisor: "30s",
  exporter: "30s",
};

export const DCP_COLLECTORS = "/etc/dcgm-exporter/dcp-metrics-included.csv";

/** DS01 paths on a GPU host (reference/ds01-infra). */
export const DS01_PATHS = {
  dockerSocket: "/var/run/docker.sock",
  stateFile: "/var/lib/ds01/gpu-state.json",
  eventsFile: "/var/log/ds01/events.jsonl",
  stateDir: "/var/lib/ds01",
  utmpFile: "/var/run/utmp",
  groupsDir: "/opt/ds01-infra/config/runtime/groups",
  cgroupRoot: "/sys/fs/cgroup",
} as const;

export interface ProfileDefaults {
  readonly components: Readonly<Record<ServiceName, boolean>>;
  readonly simulation: boolean;
  readonly externalLabels: Readonly<Record<string, string>>;
}

/**
 * dev: a laptop with no GPU, simulated data, everything but DCGM. prod: a GPU host with every
 * component and the exporter reading DS01's real sources.
 */
export const PROFILE_DEFAULTS: Readonly<Record<Profile, ProfileDefaults>> = {
  dev: {
    components: {
      prometheus: true,
      alertmanager: true,
      grafana: true,
      nodeExporter: true,
      dcgmExporter: false,
      cadvisor: true,
      exporter: true,
    },
    simulation: true,
    externalLabels: { environment: "dev" },
  },
  prod: {
    components: {
      prometheus: true,
      alertmanager: true,
      grafana: true,
      nodeExporter: true,
      dcgmExporter: true,
      cadvisor: true,
      exporter: true,
    },
    simulation: false,
    externalLabels: { environment: "prod" },
  },
};

export const DEFAULT_RETENTION = { time: "7d", size: "20GB" } as const;
export const DEFAULT_EVALUATION_INTERVAL = "15s";
export const DEFAULT_BIND_ADDRESS = "127.0.0.1";
export const DEFAULT_NAME_PREFIX = "gpu-monitoring";
export const DEFAULT_GRAFANA_ADMIN_USER = "admin";
export const DEFAULT_EXPORTER_UPDATE_INTERVAL_SECONDS = 30;
/** DS01 runs its exporter under systemd and Prometheus reaches it through the bridge gateway. */
export const DEFAULT_EXPORTER_HOST_TARGET = "host.docker.internal:9101";

/**
 * Prometheus job names of the stack's own scrape jobs, DS01's names so its rules and dashboards
 * keep matching; extra targets may not reuse them.
 */
export const JOB_NAMES: Readonly<Record<ServiceName, string>> = {
  prometheus: "prometheus",
  alertmanager: "alertmanager",
  grafana: "grafana",
  nodeExporter: "node-exporter",
  dcgmExporter: "dcgm-exporter",
  cadvisor: "cadvisor",
  exporter: "ds01-exporter",
};

/** SLURM source and discovery: poll every 15 s, each command bounded at 10 s, Prometheus asks every 30 s. */
export const DEFAULT_SLURM = { pollInterval: "15s", commandTimeout: "10s", discoveryRefreshInterval: "30s" } as const;
