import { STACK_JOB_NAMES } from "../../metrics/jobs";
import type { ServiceDescriptor } from "../services/descriptor";
import { liveServiceTable, perService, registeredServices } from "../services/registry";
import type { BuiltinServiceName, ServiceName } from "../spec";

export type Profile = "dev" | "prod";
export type Platform = "docker" | "kubernetes";

/**
 * Per-service defaults (image, host port, scrape interval, whether it is on) come from each
 * service's descriptor (components/services/); these read the registered ones.
 */
export const defaultImages = (): Readonly<Record<ServiceName, string>> => perService((d) => d.image);
/** Host ports: each image's own port (DS01 publishes them so). */
export const defaultPorts = (): Readonly<Record<ServiceName, number>> => perService((d) => d.port.number);
/** Ports each image listens on inside its container; fixed by the images, not configurable. */
export const containerPorts = (): Readonly<Record<ServiceName, number>> => perService((d) => d.port.number);

/** @deprecated use defaultImages(); reads the registered services when read. */
export const DEFAULT_IMAGES = liveServiceTable(defaultImages);
/** @deprecated use defaultPorts(). */
export const DEFAULT_PORTS = liveServiceTable(defaultPorts);
/** @deprecated use containerPorts(). */
export const CONTAINER_PORTS = liveServiceTable(containerPorts);

/** Port of the exporter's simulated DCGM endpoint, inside its container and published by default. */
export const SIMULATED_DCGM_PORT = 9400;

/** The global scrape interval; each service's job has its own (DS01's: GPU and node 15s, the rest 30s). */
export const DEFAULT_SCRAPE_INTERVAL = "15s";

/** Scrape interval per service's job, and `default` for the global one. */
export const defaultScrapeIntervals = (): Readonly<Record<ServiceName | "default", string>> => ({
  default: DEFAULT_SCRAPE_INTERVAL,
  ...perService((d) => d.scrape?.interval ?? DEFAULT_SCRAPE_INTERVAL),
});
/** @deprecated use defaultScrapeIntervals(). */
export const DEFAULT_SCRAPE_INTERVALS = liveServiceTable(defaultScrapeIntervals);

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

/** The exporter's DS01 sources: host paths it reads, each mounted read-only. */
export const DS01_SOURCE_KEYS = ["dockerSocket", "stateFile", "eventsFile", "stateDir", "utmpFile", "groupsDir", "cgroupRoot"] as const;
export type Ds01SourceKey = (typeof DS01_SOURCE_KEYS)[number];
export type ExporterSources = { readonly [K in Ds01SourceKey]?: string };

/** True when any DS01 source is configured (the exporter then reads host files on a GPU node). */
export function hasDs01Source(sources: ExporterSources): boolean {
  return DS01_SOURCE_KEYS.some((k) => sources[k] !== undefined);
}

export interface ProfileDefaults {
  readonly simulation: boolean;
  readonly externalLabels: Readonly<Record<string, string>>;
}

/**
 * dev: a laptop with no GPU, simulated data, everything but DCGM. prod: a GPU host with every
 * component and the exporter reading DS01's real sources.
 */
export const PROFILE_DEFAULTS: Readonly<Record<Profile, ProfileDefaults>> = {
  dev: { simulation: true, externalLabels: { environment: "dev" } },
  prod: { simulation: false, externalLabels: { environment: "prod" } },
};

/** Which services are on by default: each descriptor says per profile; off where its platform lacks it. */
export function defaultComponents(profile: Profile, platform: Platform): Readonly<Record<ServiceName, boolean>> {
  return perService((d) => d.enabledByDefault[profile] && availableOn(d, platform));
}

/** Whether a service exists on a platform (its descriptor's `platforms`, default every one). */
export function availableOn(d: Pick<ServiceDescriptor, "platforms">, platform: Platform): boolean {
  return d.platforms === undefined || d.platforms.includes(platform);
}

export { DEFAULT_RETENTION } from "../../metrics/jobs";
export const DEFAULT_EVALUATION_INTERVAL = "15s";
export const DEFAULT_BIND_ADDRESS = "127.0.0.1";
export const DEFAULT_NAME_PREFIX = "gpu-monitoring";
export const DEFAULT_GRAFANA_ADMIN_USER = "admin";
export const DEFAULT_EXPORTER_UPDATE_INTERVAL_SECONDS = 30;
/** DS01 runs its exporter under systemd and Prometheus reaches it through the bridge gateway. */
export const DEFAULT_EXPORTER_HOST_TARGET = "host.docker.internal:9101";

/**
 * Prometheus job names of the built-in services' scrape jobs, DS01's names so its rules and
 * dashboards keep matching. Every registered service's job is reserved (jobNames()).
 */
export const JOB_NAMES: Readonly<Record<BuiltinServiceName, string>> = STACK_JOB_NAMES;

/** The job of every registered service that is scraped; extra targets may not reuse them. */
export function jobNames(): Readonly<Record<ServiceName, string>> {
  return Object.fromEntries(registeredServices().flatMap((d) => (d.scrape ? [[d.name, d.scrape.job]] : []))) as Record<ServiceName, string>;
}

/** SLURM source and discovery: poll every 15 s, each command bounded at 10 s, Prometheus asks every 30 s. */
export const DEFAULT_SLURM = { pollInterval: "15s", commandTimeout: "10s", discoveryRefreshInterval: "30s" } as const;
