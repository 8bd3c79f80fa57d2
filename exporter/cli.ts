import { Command, InvalidArgumentError, Option } from "commander";
import { CliError } from "./errors";
import { log } from "./core/log";
import { watchParent } from "./core/parent";
import { readRegularFileSync } from "./core/regular-file";
import { ConfigError, runExporter, type ExporterConfig } from "./run";
import { parseMonitoringTarget, type MonitoringTarget } from "./slurm/discovery";

/** Exit codes: 0 clean stop, 1 could not start (port taken, file unreadable), 2 bad flags. */
export const EXIT_START_FAILURE = 1;
export const EXIT_USAGE = 2;

const port = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError("must be a port number 0-65535");
  return n;
};

const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.1 || n > 3600) throw new InvalidArgumentError("must be a number of seconds between 0.1 and 3600");
  return n;
};

const integer = (value: string): number => {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError("must be an integer");
  return Number(value);
};

const nonEmpty = (value: string): string => {
  if (value.trim() === "") throw new InvalidArgumentError("must not be empty");
  return value;
};

interface ExporterFlags {
  metricsPort: number;
  bind: string;
  drmUrl?: string;
  apiKeyFile?: string;
  apiKey?: string;
  updateInterval: number;
  simulation?: boolean;
  simulationSeed?: number;
  simulationOverrides?: string;
  simulateDcgmPort?: number;
  dockerSocket?: string;
  stateFile?: string;
  deviceMap?: string;
  nvidiaSmi: string;
  deviceMapRefresh: number;
  eventsFile?: string;
  stateDir?: string;
  utmpFile?: string;
  groupsDir?: string;
  cgroupRoot?: string;
  slurm?: boolean;
  slurmInterval?: number;
  slurmCommandTimeout?: number;
  slurmConf?: string;
  slurmTarget?: MonitoringTarget[];
}

const monitoringTarget = (value: string, previous: MonitoringTarget[] | undefined): MonitoringTarget[] => {
  try {
    return [...(previous ?? []), parseMonitoringTarget(value)];
  } catch (err: unknown) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
};

const pollSeconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1 || n > 3600) throw new InvalidArgumentError("must be a number of seconds between 1 and 3600");
  return n;
};

/**
 * The exporter's command. Every error commander reports for it (unknown flag, bad value) is a
 * usage error, so it carries exit code 2 whatever exit handling the parent program installs.
 */
class ExporterCommand extends Command {
  override error(message: string, errorOptions?: { code?: string; exitCode?: number }): never {
    const exitCode = errorOptions?.exitCode !== undefined && errorOptions.exitCode !== 1 ? errorOptions.exitCode : EXIT_USAGE;
    return super.error(message, { ...errorOptions, exitCode });
  }
}

/** Reads the DRM API key: --api-key-file first, else DRM_API_KEY. The key itself is never printed. */
function readApiKey(flags: ExporterFlags): string | undefined {
  if (flags.apiKeyFile) {
    let key: string;
    try {
      key = readRegularFileSync(flags.apiKeyFile, "--api-key-file", 64 * 1024).toString("utf8").trim();
    } catch (err: unknown) {
      const code = err instanceof Error && "code" in err ? String(err.code) : err instanceof Error ? err.message : "unreadable";
      throw new CliError(`cannot read --api-key-file ${flags.apiKeyFile}: ${code}`, "check the path and that this user may read it");
    }
    if (key === "") throw new CliError(`--api-key-file ${flags.apiKeyFile} is empty`, "write the DRM API key into the file");
    return key;
  }
  const fromEnv = process.env.DRM_API_KEY?.trim();
  return fromEnv ? fromEnv : undefined;
}

/** `gpu-monitoring exporter`: serves the DS01/DRM metrics. */
export function exporterCommand(): Command {
  const command = new ExporterCommand("exporter")
    .description(
      "Serve DS01 and DRM metrics for Prometheus: /metrics, /-/healthy, /-/ready.\n" +
        "Sources: the Docker engine or DS01's gpu-state file, the events log, the state directory, a DRM coordinator, a SLURM cluster, or --simulation.",
    )
    .option("--metrics-port <port>", "port for /metrics (0 picks a free one)", port, 9101)
    .option("--bind <address>", "address to listen on", nonEmpty, "127.0.0.1")
    .option("--drm-url <url>", "DRM coordinator base URL (polled at <url>/api/v1/monitoring/snapshot)", nonEmpty)
    .option("--api-key-file <path>", "file holding the DRM API key (else env DRM_API_KEY)", nonEmpty)
    .addOption(new Option("--api-key <key>").hideHelp())
    .option("--update-interval <seconds>", "DRM poll interval in seconds", seconds, 5)
    .option("--simulation", "serve a simulated 8-GPU host (two GPUs in MIG mode) and DRM coordinator")
    .option("--simulation-seed <n>", "seed of the simulation (same seed, same cluster)", integer)
    .option("--simulation-overrides <file>", "JSON file forcing simulated conditions; re-read when it changes", nonEmpty)
    .option("--simulate-dcgm-port <port>", "serve a DCGM-exporter-compatible /metrics from the simulation on this port", port)
    .option("--docker-socket <path>", "Docker engine socket to read DS01 containers from (e.g. /var/run/docker.sock)", nonEmpty)
    .option("--state-file <path>", "DS01 gpu-state JSON file, instead of the Docker engine", nonEmpty)
    .option("--device-map <path>", "`nvidia-smi -L` output or JSON device map (GPU/MIG UUID -> slot), instead of running nvidia-smi", nonEmpty)
    .option("--nvidia-smi <command>", "program run as `<command> -L` for the device map when no --device-map is given", nonEmpty, "nvidia-smi")
    .option("--device-map-refresh <seconds>", "re-run nvidia-smi when its map is older than this (and when an unknown device appears)", seconds, 60)
    .option("--events-file <path>", "DS01 events log (events.jsonl)", nonEmpty)
    .option("--state-dir <path>", "DS01 state directory (disk usage)", nonEmpty)
    .option("--utmp-file <path>", "utmp database for login sessions per user (e.g. /var/run/utmp)", nonEmpty)
    .option("--groups-dir <path>", "directory of DS01's <group>.members files (e.g. /opt/ds01-infra/config/runtime/groups)", nonEmpty)
    .option("--cgroup-root <path>", "cgroup v2 mount holding DS01's user slices, for CPU and memory per user (e.g. /sys/fs/cgroup)", nonEmpty)
    .option("--slurm", "read a SLURM cluster with sinfo and squeue from PATH; serve HTTP service discovery at /slurm/targets")
    .option("--slurm-interval <seconds>", "SLURM poll interval in seconds (1-3600, default 15)", pollSeconds)
    .option("--slurm-command-timeout <seconds>", "bound on each sinfo/squeue run in seconds (default 10)", seconds)
    .option("--slurm-conf <path>", "SLURM_CONF for the commands (default: the environment's)", nonEmpty)
    .option(
      "--slurm-target <JOB:PORT:KIND=VALUE>",
      "monitoring target for discovery, repeatable; KIND is job-name, job-id or host (e.g. ollama:11434:job-name=ollama_abc123)",
      monitoringTarget,
    )
    .action(async (flags: ExporterFlags, cmd: Command) => {
      if (flags.apiKey !== undefined) {
        // Deliberately not echoing the value: a key on a command line is visible in ps.
        cmd.error("error: --api-key is not accepted; put the key in --api-key-file or DRM_API_KEY", { exitCode: EXIT_USAGE });
      }
      const apiKey = readApiKey(flags);
      const config: ExporterConfig = {
        metricsPort: flags.metricsPort,
        bind: flags.bind,
        updateIntervalSeconds: flags.updateInterval,
        simulation: flags.simulation === true,
        ...(flags.drmUrl ? { drmUrl: flags.drmUrl } : {}),
        ...(apiKey && flags.drmUrl ? { apiKey } : {}),
        ...(flags.simulationSeed !== undefined ? { simulationSeed: flags.simulationSeed } : {}),
        ...(flags.simulationOverrides ? { simulationOverrides: flags.simulationOverrides } : {}),
        ...(flags.simulateDcgmPort !== undefined ? { simulateDcgmPort: flags.simulateDcgmPort } : {}),
        ...(flags.dockerSocket ? { dockerSocket: flags.dockerSocket } : {}),
        ...(flags.stateFile ? { stateFile: flags.stateFile } : {}),
        ...(flags.deviceMap ? { deviceMap: flags.deviceMap } : {}),
        nvidiaSmi: flags.nvidiaSmi,
        deviceMapRefreshSeconds: flags.deviceMapRefresh,
        ...(flags.eventsFile ? { eventsFile: flags.eventsFile } : {}),
        ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
        ...(flags.utmpFile ? { utmpFile: flags.utmpFile } : {}),
        ...(flags.groupsDir ? { groupsDir: flags.groupsDir } : {}),
        ...(flags.cgroupRoot ? { cgroupRoot: flags.cgroupRoot } : {}),
        ...(flags.slurm ? { slurm: true } : {}),
        ...(flags.slurmInterval !== undefined ? { slurmIntervalSeconds: flags.slurmInterval } : {}),
        ...(flags.slurmCommandTimeout !== undefined ? { slurmCommandTimeoutSeconds: flags.slurmCommandTimeout } : {}),
        ...(flags.slurmConf ? { slurmConf: flags.slurmConf } : {}),
        ...(flags.slurmTarget ? { slurmTargets: flags.slurmTarget } : {}),
      };
      let started: Awaited<ReturnType<typeof runExporter>>;
      try {
        started = await runExporter(config);
      } catch (err: unknown) {
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof ConfigError) cmd.error(`error: ${message}`, { exitCode: EXIT_USAGE });
        throw new CliError(`exporter could not start: ${message}`, "pick a free --metrics-port/--simulate-dcgm-port, or check the source paths");
      }
      process.stdout.write(`exporter listening on ${started.url}/metrics (pid ${process.pid})\n`);
      if (started.dcgmUrl) process.stdout.write(`simulated DCGM listening on ${started.dcgmUrl}\n`);

      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals): void => {
          if (stopping) process.exit(128 + (signal === "SIGINT" ? 2 : 15));
          stopping = true;
          log("info", "stopping", { signal });
          started.close().then(
            () => {
              // Anything still holding the event loop (a stuck socket) must not keep us alive.
              setTimeout(() => process.exit(0), 2_000).unref();
              resolve();
            },
            () => process.exit(EXIT_START_FAILURE),
          );
        };
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
        watchParent(() => {
          log("info", "parent process gone; stopping");
          stop("SIGTERM");
        });
      });
    });
  return command;
}
