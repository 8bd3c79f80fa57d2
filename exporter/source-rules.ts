/**
 * Which combinations of sources the exporter accepts. One rule for the exporter's own flags and
 * for the stack config that renders them (components/config imports it), so a stack whose
 * exporter would refuse its arguments fails `pulumi preview` instead of restarting forever.
 *
 * Allocations come from exactly one place. On a DS01 host the Docker engine is the source of
 * truth (DS01's own state reader reads it); the gpu-state file is the fallback for hosts where
 * the engine cannot be reached (a Kubernetes node, a host without socket access). Reading both
 * would count each allocation twice.
 */

/** The settings the rule looks at; names are the exporter's (ExporterConfig's). */
export interface SourceSettings {
  readonly simulation?: boolean;
  readonly simulationSeed?: number;
  /** JSON overrides file, re-read when it changes. */
  readonly simulationOverrides?: string;
  /** Port for the simulated DCGM endpoint; 0 picks a free one; absent: no endpoint. */
  readonly simulateDcgmPort?: number;
  /** The Docker engine's socket: DS01's allocations as the engine holds them. */
  readonly dockerSocket?: string;
  /** DS01's gpu-state JSON: the allocations where the engine cannot be read. */
  readonly stateFile?: string;
  /** `nvidia-smi -L` output or JSON device map for the Docker and state-file sources. */
  readonly deviceMap?: string;
  readonly eventsFile?: string;
  readonly stateDir?: string;
  /** utmp database: login sessions per user. */
  readonly utmpFile?: string;
  /** DS01's `<group>.members` directory. */
  readonly groupsDir?: string;
  /** cgroup v2 mount holding DS01's user slices. */
  readonly cgroupRoot?: string;
  /** DRM coordinator base URL; in simulation mode it replaces the simulated DRM. */
  readonly drmUrl?: string;
  /** Whether a DRM API key is given (its value never reaches the rule). */
  readonly apiKey?: boolean;
  /** Read a SLURM cluster through sinfo/squeue on PATH. */
  readonly slurm?: boolean;
}

export type SourceSetting = keyof SourceSettings;

export interface SourceProblem {
  /** The settings involved, first the one to change. */
  readonly settings: readonly [SourceSetting, ...SourceSetting[]];
  readonly message: string;
  /** What would be accepted instead. */
  readonly allowed: string;
}

/** How a caller names a setting: `--docker-socket` for the exporter, `exporter.dockerSocket` for a stack. */
export type SettingNamer = (setting: SourceSetting) => string;

/** Every problem with a combination of sources, named the caller's way; empty when it is accepted. */
export function sourceProblems(s: SourceSettings, name: SettingNamer): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const set = (v: unknown): boolean => v !== undefined && v !== false && v !== "";
  if (s.simulation) {
    for (const key of ["dockerSocket", "stateFile", "deviceMap"] as const) {
      if (set(s[key])) {
        problems.push({
          settings: [key, "simulation"],
          message: `${name("simulation")} provides the allocations, so ${name(key)} would never be read`,
          allowed: `${name("simulation")} alone, or ${name(key)} without ${name("simulation")}`,
        });
      }
    }
  } else {
    for (const key of ["simulationOverrides", "simulateDcgmPort", "simulationSeed"] as const) {
      if (set(s[key])) {
        problems.push({ settings: [key, "simulation"], message: `${name(key)} needs ${name("simulation")}`, allowed: `${name("simulation")} with it, or no ${name(key)}` });
      }
    }
    const hostFiles = ["eventsFile", "stateDir", "utmpFile", "groupsDir", "cgroupRoot"] as const;
    if (!(["dockerSocket", "stateFile", ...hostFiles, "drmUrl", "slurm"] as const).some((k) => set(s[k]))) {
      problems.push({
        settings: ["simulation"],
        message: "nothing to export: no source is given",
        allowed: `${name("dockerSocket")} or ${name("stateFile")} (and ${hostFiles.map(name).join(", ")}), ${name("drmUrl")}, ${name("slurm")}, or ${name("simulation")}`,
      });
    }
  }
  if (set(s.dockerSocket) && set(s.stateFile)) {
    problems.push({
      settings: ["stateFile", "dockerSocket"],
      message: `use either ${name("dockerSocket")} or ${name("stateFile")}, not both (one allocation source)`,
      allowed: `${name("dockerSocket")} where the Docker engine can be read (DS01's source of truth), else ${name("stateFile")}`,
    });
  }
  if (set(s.deviceMap) && !set(s.dockerSocket) && !set(s.stateFile)) {
    problems.push({ settings: ["deviceMap"], message: `${name("deviceMap")} is only used by ${name("dockerSocket")} or ${name("stateFile")}`, allowed: `one of them with it, or no ${name("deviceMap")}` });
  }
  if (s.apiKey && !set(s.drmUrl)) {
    problems.push({ settings: ["apiKey", "drmUrl"], message: `a DRM API key was given but no ${name("drmUrl")}`, allowed: `${name("drmUrl")} with the key, or no key` });
  }
  return problems;
}

/** The exporter's own names: its command-line flags. */
export const flagName: SettingNamer = (setting) => (setting === "apiKey" ? "--api-key-file" : `--${setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
