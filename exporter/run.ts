import { readFileSync } from "node:fs";
import path from "node:path";
import type { Collector } from "./core/collector";
import { log } from "./core/log";
import { DEFAULT_BIND, DEFAULT_METRICS_PORT, startExporter, type RouteAnswer, type RunningExporter } from "./core/server";
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
import type { DeviceMapSource } from "./ds01/device-map";
import type { Ds01Snapshot } from "./ds01/model";
import { createSlurmCollector, type SlurmCollector } from "./slurm/collector";
import type { MonitoringTarget } from "./slurm/discovery";
import { createSlurmSource } from "./slurm/source";
import { NvidiaSmiDeviceMap } from "./ds01/nvidia-smi";
import { scanChildForThisProcess } from "./ds01/scan-child";
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
  /** SLURM poll interval in seconds. Default 15. */
  readonly slurmIntervalSeconds?: number;
  /** Bound on each SLURM command in seconds. Default 10. */
  readonly slurmCommandTimeoutSeconds?: number;
  /** SLURM_CONF for the commands; the exporter's own environment otherwise. */
  readonly slurmConf?: string;
  /** Monitoring targets served at /slurm/targets (Prometheus HTTP service discovery). */
  readonly slurmTargets?: readonly MonitoringTarget[];
}

/** Path of the SLURM service discovery endpoint (Prometheus http_sd_configs). */
export const SLURM_SD_PATH = "/slurm/targets";

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
  if (!c.slurm && (c.slurmTargets?.length || c.slurmConf || c.slurmIntervalSeconds !== undefined || c.slurmCommandTimeoutSeconds !== undefined)) {
    throw new ConfigError("--slurm-target, --slurm-conf, --slurm-interval and --slurm-command-timeout need --slurm");
  }
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
  // Under --lite-mode the log's large reads go to a child with the optimising compiler (scan-child.ts).
  const largeReads = scanChildForThisProcess();
  const events = config.eventsFile ? createEventsLog({ path: config.eventsFile, ...(largeReads ? { largeReads } : {}) }) : undefined;
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

  const slurm = config.slurm ? slurmCollector(config) : undefined;
  if (slurm) collectors.push(slurm);

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
      ...(slurm ? { routes: { [SLURM_SD_PATH]: (query: URLSearchParams) => slurmDiscoveryAnswer(slurm, query) } } : {}),
    });
  } catch (err: unknown) {
    await dcgm?.close();
    await Promise.allSettled(collectors.map((c) => c.close()));
    throw err;
  }
  if (dcgm) log("info", "simulated DCGM endpoint listening", { url: dcgm.url });
  return { ...running, dcgmUrl: dcgm?.url, dcgmPort: dcgm?.port, simulation };
}

function slurmCollector(config: ExporterConfig): SlurmCollector {
  const intervalMs = Math.round((config.slurmIntervalSeconds ?? 15) * 1000);
  const commandTimeoutMs = Math.round((config.slurmCommandTimeoutSeconds ?? 10) * 1000);
  const source = createSlurmSource({ timeoutMs: commandTimeoutMs, ...(config.slurmConf ? { slurmConf: config.slurmConf } : {}) });
  log("info", "polling SLURM", {
    intervalSeconds: intervalMs / 1000,
    commandTimeoutSeconds: commandTimeoutMs / 1000,
    slurmConf: config.slurmConf ?? process.env.SLURM_CONF ?? "(default)",
    targets: config.slurmTargets?.length ?? 0,
  });
  // The commands run side by side, each bounded; the tracker's bound sits just above them.
  return createSlurmCollector({ source, intervalMs, timeoutMs: commandTimeoutMs + 1_000, targets: config.slurmTargets ?? [] });
}

/** `GET /slurm/targets[?job=<scrape job>]`: the http_sd_configs answer, or 503 with the source's reason. */
function slurmDiscoveryAnswer(slurm: SlurmCollector, query: URLSearchParams): RouteAnswer {
  const answer = slurm.discovery(query.get("job") ?? undefined);
  if ("error" in answer) return { status: 503, contentType: "text/plain; charset=utf-8", body: `SLURM discovery unavailable: ${answer.error}\n` };
  return { status: 200, contentType: "application/json", body: JSON.stringify(answer.groups) };
}
