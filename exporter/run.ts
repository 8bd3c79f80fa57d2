import { readFileSync } from "node:fs";
import path from "node:path";
import type { Collector } from "./core/collector";
import { log } from "./core/log";
import { DEFAULT_BIND, DEFAULT_METRICS_PORT, startExporter, type RunningExporter } from "./core/server";
import type { Source } from "./core/source";
import { createDrmCollector } from "./drm/collector";
import { createDrmHttpSource, redactUrl } from "./drm/http-source";
import type { DrmSnapshot } from "./drm/model";
import {
  createCgroupSource,
  createDockerSource,
  createDs01Collector,
  createEventsLog,
  createGroupsSource,
  createStateDirSource,
  createStateFileSource,
  createUtmpSource,
} from "./ds01";
import type { Ds01Snapshot } from "./ds01/model";
import { DEFAULT_SIMULATION_SEED, Simulation, type DcgmEndpoint } from "./simulation";

/** Everything the exporter can be started with; the CLI flags map onto it one to one. */
export interface ExporterConfig {
  readonly metricsPort?: number;
  readonly bind?: string;
  /** DRM coordinator base URL; in simulation mode it replaces the simulated DRM. */
  readonly drmUrl?: string;
  readonly apiKey?: string;
  /** DRM poll interval in seconds. Default 5. */
  readonly updateIntervalSeconds?: number;
  readonly simulation?: boolean;
  readonly simulationSeed?: number;
  /** JSON overrides file, re-read when it changes. */
  readonly simulationOverrides?: string;
  /** Port for the simulated DCGM endpoint; 0 picks a free one; absent: no endpoint. */
  readonly simulateDcgmPort?: number;
  readonly dockerSocket?: string;
  readonly stateFile?: string;
  /** `nvidia-smi -L` output or JSON device map for the Docker and state-file sources. */
  readonly deviceMap?: string;
  readonly eventsFile?: string;
  readonly stateDir?: string;
  /** utmp database for login sessions (e.g. /var/run/utmp); in simulation the simulated logins stand in. */
  readonly utmpFile?: string;
  /** Directory of DS01's `<group>.members` files; in simulation the simulated groups stand in. */
  readonly groupsDir?: string;
  /** cgroup v2 mount holding DS01's user slices (e.g. /sys/fs/cgroup); in simulation the simulated slices stand in. */
  readonly cgroupRoot?: string;
  /** Bound on each collector's refresh per scrape. Default 5000 ms. */
  readonly refreshTimeoutMs?: number;
  /** Hostname label of the simulated DCGM series. */
  readonly simulationHostname?: string;
}

export interface StartedExporter extends RunningExporter {
  /** URL of the simulated DCGM /metrics, when one was asked for. */
  readonly dcgmUrl: string | undefined;
  readonly dcgmPort: number | undefined;
  /** The simulation, in simulation mode (tests read its state). */
  readonly simulation: Simulation | undefined;
}

/** A configuration that cannot work; the CLI exits 2 on it. */
export class ConfigError extends Error {}

/** The package version: package.json one level up (source tree) or beside the bundled image file. */
export const EXPORTER_VERSION: string = (() => {
  for (const candidate of [path.join(__dirname, "..", "package.json"), path.join(__dirname, "package.json")]) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(candidate, "utf8"));
      if (typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string") return pkg.version;
    } catch {
      // try the next place
    }
  }
  return "unknown";
})();

/** Checks flag combinations before anything is opened. */
export function validateConfig(c: ExporterConfig): void {
  if (c.dockerSocket && c.stateFile) throw new ConfigError("use either --docker-socket or --state-file, not both (one allocation source)");
  if (!c.simulation) {
    if (c.simulationOverrides) throw new ConfigError("--simulation-overrides needs --simulation");
    if (c.simulateDcgmPort !== undefined) throw new ConfigError("--simulate-dcgm-port needs --simulation");
    if (c.simulationSeed !== undefined) throw new ConfigError("--simulation-seed needs --simulation");
    if (!c.drmUrl && !c.dockerSocket && !c.stateFile && !c.eventsFile && !c.stateDir && !c.utmpFile && !c.groupsDir && !c.cgroupRoot) {
      throw new ConfigError(
        "nothing to export: give --docker-socket or --state-file (and --events-file, --state-dir, --utmp-file, --groups-dir, --cgroup-root), --drm-url, or --simulation",
      );
    }
  } else if (c.dockerSocket || c.stateFile) {
    throw new ConfigError("--simulation provides the allocations; drop --docker-socket/--state-file");
  }
  if (c.apiKey && !c.drmUrl) throw new ConfigError("an API key was given but no --drm-url");
}

/**
 * Starts the exporter from a configuration: picks the sources, builds the DS01 and DRM
 * collectors, the simulation and its DCGM endpoint, and the HTTP server. The CLI, the tests,
 * the benchmark and the end-to-end suite all start it through here (or startExporter).
 */
export async function runExporter(config: ExporterConfig): Promise<StartedExporter> {
  validateConfig(config);
  const intervalMs = Math.round((config.updateIntervalSeconds ?? 5) * 1000);
  const simulation = config.simulation
    ? new Simulation({
        seed: config.simulationSeed ?? DEFAULT_SIMULATION_SEED,
        ...(config.simulationOverrides ? { overrides: config.simulationOverrides } : {}),
        ...(config.simulationHostname ? { hostname: config.simulationHostname } : {}),
      })
    : undefined;

  const collectors: Collector[] = [];
  let snapshot: Source<Ds01Snapshot> | undefined;
  if (simulation) snapshot = simulation.ds01Source();
  else if (config.dockerSocket) {
    snapshot = createDockerSource({ socketPath: config.dockerSocket, ...(config.deviceMap ? { deviceMapFile: config.deviceMap } : {}) });
  } else if (config.stateFile) {
    snapshot = createStateFileSource({ path: config.stateFile, ...(config.deviceMap ? { deviceMapFile: config.deviceMap } : {}) });
  }
  const events = config.eventsFile ? createEventsLog({ path: config.eventsFile }) : undefined;
  const stateDir = config.stateDir ? createStateDirSource({ path: config.stateDir }) : undefined;
  // A file given on the command line wins over the simulation's stand-in.
  const sessions = config.utmpFile ? createUtmpSource({ path: config.utmpFile }) : simulation?.sessionsSource();
  const groups = config.groupsDir ? createGroupsSource({ path: config.groupsDir }) : simulation?.groupsSource();
  const cgroups = config.cgroupRoot ? createCgroupSource({ root: config.cgroupRoot }) : simulation?.cgroupSource();
  if (snapshot || events || stateDir || sessions || groups || cgroups) {
    collectors.push(
      createDs01Collector({
        version: EXPORTER_VERSION,
        ...(snapshot ? { snapshot } : {}),
        ...(events ? { events } : {}),
        ...(stateDir ? { stateDir } : {}),
        ...(sessions ? { sessions } : {}),
        ...(groups ? { groups } : {}),
        ...(cgroups ? { cgroups } : {}),
      }),
    );
  }

  let drmSource: Source<DrmSnapshot> | undefined;
  if (config.drmUrl) {
    drmSource = createDrmHttpSource({ url: config.drmUrl, ...(config.apiKey ? { apiKey: config.apiKey } : {}), timeoutMs: Math.min(intervalMs, 10_000) });
    log("info", "polling DRM coordinator", { url: redactUrl(config.drmUrl), intervalSeconds: intervalMs / 1000, apiKey: config.apiKey ? "set" : "unset" });
  } else if (simulation) drmSource = simulation.drmSource();
  // The HTTP source aborts its own request at min(interval, 10 s); the tracker's bound sits above it.
  if (drmSource) collectors.push(createDrmCollector({ source: drmSource, updateIntervalMs: intervalMs, timeoutMs: Math.min(intervalMs, 10_000) + 1_000 }));

  let dcgm: DcgmEndpoint | undefined;
  if (simulation && config.simulateDcgmPort !== undefined) {
    dcgm = await simulation.startDcgm(config.simulateDcgmPort, config.bind ?? DEFAULT_BIND);
  }
  let running: RunningExporter;
  try {
    running = await startExporter({
      collectors,
      port: config.metricsPort ?? DEFAULT_METRICS_PORT,
      bind: config.bind ?? DEFAULT_BIND,
      ...(config.refreshTimeoutMs !== undefined ? { refreshTimeoutMs: config.refreshTimeoutMs } : {}),
      onClose: dcgm ? [() => dcgm.close()] : [],
    });
  } catch (err: unknown) {
    await dcgm?.close();
    await Promise.allSettled(collectors.map((c) => c.close()));
    throw err;
  }
  if (dcgm) log("info", "simulated DCGM endpoint listening", { url: dcgm.url });
  return { ...running, dcgmUrl: dcgm?.url, dcgmPort: dcgm?.port, simulation };
}
