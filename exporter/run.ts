import { readFileSync } from "node:fs";
import path from "node:path";
import type { Collector } from "./core/collector";
import { log } from "./core/log";
import { DEFAULT_BIND, DEFAULT_METRICS_PORT, startExporter, type RunningExporter } from "./core/server";
import type { Source } from "./core/source";
import { createDrmCollector } from "./drm/collector";
import { createDrmHttpSource, redactUrl } from "./drm/http-source";
import type { DrmSnapshot } from "./drm/model";
import { createDockerSource, createDs01Collector, createEventsLog, createStateDirSource, createStateFileSource } from "./ds01";
import type { DeviceMapSource } from "./ds01/device-map";
import type { Ds01Snapshot } from "./ds01/model";
import { NvidiaSmiDeviceMap } from "./ds01/nvidia-smi";
import { DEFAULT_SIMULATION_SEED, Simulation, type DcgmEndpoint } from "./simulation";
import { flagName, sourceProblems, type SourceSettings } from "./source-rules";

/** Everything the exporter can be started with; the CLI flags map onto it one to one. */
export interface ExporterConfig extends Omit<SourceSettings, "apiKey"> {
  readonly metricsPort?: number;
  readonly bind?: string;
  readonly apiKey?: string;
  /** DRM poll interval in seconds. Default 5. */
  readonly updateIntervalSeconds?: number;
  /** Without deviceMap: the program run as `<nvidiaSmi> -L` for the device map. Default `nvidia-smi`. */
  readonly nvidiaSmi?: string;
  /** How old the nvidia-smi device map may get before it is re-read, in seconds. Default 60. */
  readonly deviceMapRefreshSeconds?: number;
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

/** Checks flag combinations before anything is opened, by the rule the stack config also applies. */
export function validateConfig(c: ExporterConfig): void {
  const problems = sourceProblems({ ...c, apiKey: c.apiKey !== undefined }, flagName);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${p.message} (allowed: ${p.allowed})`).join("; "));
}

/** The device map the allocation sources use: the given file, else `nvidia-smi -L` run here (and its health). */
function deviceMapSource(config: ExporterConfig): { source: { deviceMapFile: string } | { deviceMap: DeviceMapSource }; health?: Source<unknown> } {
  if (config.deviceMap) return { source: { deviceMapFile: config.deviceMap } };
  const smi = new NvidiaSmiDeviceMap({
    ...(config.nvidiaSmi ? { command: config.nvidiaSmi } : {}),
    ...(config.deviceMapRefreshSeconds !== undefined ? { refreshMs: config.deviceMapRefreshSeconds * 1000 } : {}),
  });
  return { source: { deviceMap: smi }, health: smi.healthSource() };
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
  let deviceMapHealth: Source<unknown> | undefined;
  if (simulation) snapshot = simulation.ds01Source();
  else if (config.dockerSocket) {
    const devices = deviceMapSource(config);
    deviceMapHealth = devices.health;
    snapshot = createDockerSource({ socketPath: config.dockerSocket, ...devices.source });
  } else if (config.stateFile) {
    const devices = deviceMapSource(config);
    deviceMapHealth = devices.health;
    snapshot = createStateFileSource({ path: config.stateFile, ...devices.source });
  }
  const events = config.eventsFile ? createEventsLog({ path: config.eventsFile }) : undefined;
  const stateDir = config.stateDir ? createStateDirSource({ path: config.stateDir }) : undefined;
  if (snapshot || events || stateDir) {
    collectors.push(
      createDs01Collector({
        version: EXPORTER_VERSION,
        ...(snapshot ? { snapshot } : {}),
        ...(events ? { events } : {}),
        ...(stateDir ? { stateDir } : {}),
        ...(deviceMapHealth ? { deviceMap: deviceMapHealth } : {}),
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
