import type { AlertingConfig, Thresholds } from "../../alerts/config";
import { durationMs } from "../../alerts/model";
import type { KubernetesConfig } from "../platforms/kubernetes/config";
import { registeredServices } from "../services";
import { SERVICE_NAMES, type ServiceName } from "../spec";
import {
  DS01_SOURCE_KEYS,
  DEFAULT_BIND_ADDRESS,
  DEFAULT_EVALUATION_INTERVAL,
  DEFAULT_EXPORTER_HOST_TARGET,
  DEFAULT_EXPORTER_UPDATE_INTERVAL_SECONDS,
  DEFAULT_GRAFANA_ADMIN_USER,
  DEFAULT_NAME_PREFIX,
  DEFAULT_RETENTION,
  DEFAULT_SLURM,
  PROFILE_DEFAULTS,
  SIMULATED_DCGM_PORT,
  availableOn,
  defaultComponents,
  defaultImages,
  defaultPorts,
  defaultScrapeIntervals,
  jobNames,
  type ExporterSources,
  type Platform,
  type Profile,
} from "./defaults";
import { kubernetesConfigProblems } from "../platforms/kubernetes/checks";
import type { z } from "zod";
import { sourceProblems, type SourceSetting, type SourceSettings } from "../../exporter/source-rules";
import { ConfigError, REDACTED, problemsFromZod, renderConfigValue, renderValue, unsetSecretProblem, valueAt, type ConfigProblem } from "./errors";
import { KNOWN_SECRET_KEYS, stackConfigInputSchema, type StackConfigInput } from "./schema";


export interface ExporterConfig {
  readonly run: "container" | "host";
  readonly simulation: boolean;
  /** Host port of the simulated DCGM endpoint; set only while it is served (simulation, no real DCGM). */
  readonly simulatedDcgmPort?: number;
  readonly sources: ExporterSources;
  readonly dockerGroupId?: number;
  readonly drmUrl?: string;
  /** True when the `drmApiKey` secret is set; its value travels separately as a Pulumi secret. */
  readonly drmApiKey: boolean;
  readonly updateIntervalSeconds: number;
  readonly hostTarget: string;
  readonly buildImage: boolean;
}

export interface ExtraScrapeTarget {
  readonly job: string;
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapeInterval: string;
  readonly metricsPath: string;
  readonly scheme: "http" | "https";
}

export interface FileSdJob {
  readonly job: string;
  readonly files: readonly string[];
  readonly refreshInterval: string;
  readonly scrapeInterval: string;
}

/** Where a SLURM monitoring target runs: a job by name or ID, or a fixed host. */
export type SlurmTargetSelector = { readonly kind: "job-name" | "job-id" | "host"; readonly value: string };

export interface SlurmMonitoringTarget {
  readonly job: string;
  readonly port: number;
  readonly select: SlurmTargetSelector;
  readonly scrapeInterval: string;
  readonly metricsPath: string;
}

export interface SlurmConfig {
  readonly enabled: boolean;
  readonly pollInterval: string;
  readonly commandTimeout: string;
  readonly slurmConf?: string;
  readonly discoveryRefreshInterval: string;
  readonly monitoringTargets: readonly SlurmMonitoringTarget[];
}

/** The validated, complete stack config: every default applied, every cross-field check passed. */
export interface StackConfig {
  readonly platform: Platform;
  readonly profile: Profile;
  readonly namePrefix: string;
  readonly components: Readonly<Record<ServiceName, boolean>>;
  /**
   * `collectors`: the user's own DCGM counter list in the image, when set; otherwise the stack
   * deploys the exporter with its own list (metrics/dcgm-counters.ts).
   */
  readonly gpu?: { readonly devices: "all" | readonly string[]; readonly collectors?: string };
  readonly exporter: ExporterConfig;
  readonly bindAddress: string;
  /** Bind address per service (the global one unless overridden). */
  readonly bindAddresses: Readonly<Record<ServiceName, string>>;
  /** The user said yes to publishing unauthenticated services beyond loopback. */
  readonly exposeUnauthenticated: boolean;
  readonly ports: Readonly<Record<ServiceName, number>>;
  readonly images: Readonly<Record<ServiceName, string>>;
  readonly retention: { readonly time: string; readonly size: string };
  /**
   * retainOnDelete: destroying the stack (or replacing a data resource) leaves the Docker volumes,
   * PersistentVolumeClaims and Namespace in place. protect: Pulumi refuses to delete them at all.
   */
  readonly data: { readonly retainOnDelete: boolean; readonly protect: boolean };
  readonly scrapeIntervals: Readonly<Record<ServiceName | "default", string>>;
  readonly evaluationInterval: string;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly extraScrapeTargets: readonly ExtraScrapeTarget[];
  readonly fileSd: { readonly hostDir?: string; readonly jobs: readonly FileSdJob[] };
  readonly slurm: SlurmConfig;
  readonly grafanaAdminUser: string;
  readonly grafanaRootUrl?: string;
  readonly thresholds: Thresholds;
  readonly alerting: AlertingConfig;
  readonly kubernetes: KubernetesConfig;
  /** Names (never values) of the secrets set in this stack's config. */
  readonly secretKeys: readonly string[];
}

export interface RawStackConfig {
  /** Plain (non-secret) keys below the `gpu-monitoring:` namespace, already parsed into values. */
  readonly plain: Readonly<Record<string, unknown>>;
  /** Names of keys below the namespace that are set as secrets. */
  readonly secretKeys: readonly string[];
}

/**
 * The config of a stack that runs only these services (a component used on its own, e.g. a
 * node-exporter on a GPU host of another program): `components` is set for every registered
 * service, on for these and off for the rest, and everything else comes from `plain` as in a
 * stack file. Throws ConfigError like validateStackConfig.
 */
export function serviceConfig(services: readonly ServiceName[], plain: Readonly<Record<string, unknown>> = {}, secretKeys: readonly string[] = []): StackConfig {
  const components = Object.fromEntries(registeredServices().map((d) => [d.name, services.includes(d.name)]));
  return validateStackConfig({ plain: { ...plain, components }, secretKeys });
}

/**
 * Validates a raw stack config and fills in the profile's defaults. Throws one ConfigError
 * listing every problem; never returns a half-valid config.
 */
export function validateStackConfig(raw: RawStackConfig, source?: string): StackConfig {
  const problems: ConfigProblem[] = [];
  const secretKeys = [...new Set(raw.secretKeys)].sort();
  const isSecretPath = (path: readonly PropertyKey[]): boolean => secretKeys.includes(String(path[0]));

  for (const key of KNOWN_SECRET_KEYS) {
    if (key in raw.plain) {
      problems.push({
        key,
        message: `must be a Pulumi secret (pulumi config set --secret ${key} ...), not plain text`,
        got: REDACTED,
        allowed: "a secret value",
      });
    }
  }
  const plain: Record<string, unknown> = Object.fromEntries(
    Object.entries(raw.plain).filter(([k]) => !(KNOWN_SECRET_KEYS as readonly string[]).includes(k)),
  );
  for (const key of secretKeys) {
    if (key in stackConfigInputSchema().shape) {
      problems.push({ key, message: "must not be a secret", got: REDACTED, allowed: "a plain value" });
    }
  }

  problems.push(...unrenderable(plain));
  const parsed = stackConfigInputSchema().safeParse(plain);
  if (!parsed.success) {
    problems.push(...problemsFromZod(parsed.error.issues, plain, stackConfigInputSchema(), isSecretPath));
    problems.push(...crossFieldProblemsOfRest(plain, parsed.error.issues, secretKeys, problems));
    throw new ConfigError(problems, source);
  }
  const cfg = resolve(parsed.data, secretKeys);
  problems.push(...crossFieldProblems(cfg, parsed.data));
  if (problems.length > 0) throw new ConfigError(problems, source);
  return cfg;
}

/** The config without the values at the given issue paths; a path through a list drops the whole list. */
function withoutIssues(plain: Record<string, unknown>, issues: readonly z.core.$ZodIssue[]): Record<string, unknown> {
  const rest = structuredClone(plain);
  for (const issue of issues) {
    const paths = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const path of paths) {
      const throughList = path.findIndex((_, i) => Array.isArray(valueAt(rest, path.slice(0, i))));
      const cut = throughList > 0 ? path.slice(0, throughList) : path;
      if (cut.length === 0) continue;
      const parent = valueAt(rest, cut.slice(0, -1));
      if (parent !== null && typeof parent === "object") delete (parent as Record<PropertyKey, unknown>)[cut[cut.length - 1] as PropertyKey];
    }
  }
  return rest;
}

/**
 * Cross-field problems of the part of the config that did parse: the values with type or range
 * errors are dropped (their defaults stand in) and the rest is checked, so one run reports both
 * a wrong type and an unrelated clash. Problems on keys already reported are left out.
 */
function crossFieldProblemsOfRest(
  plain: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
  secretKeys: readonly string[],
  reported: readonly ConfigProblem[],
): ConfigProblem[] {
  let rest = plain;
  let pending = issues;
  for (let round = 0; round < 3; round++) {
    rest = withoutIssues(rest, pending);
    const retry = stackConfigInputSchema().safeParse(rest);
    if (retry.success) {
      const keys = reported.map((p) => p.key);
      const related = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
      return crossFieldProblems(resolve(retry.data, secretKeys), retry.data).filter((p) => !keys.some((k) => related(k, p.key)));
    }
    pending = retry.error.issues;
  }
  return [];
}

/** No string in a stack config needs more; a longer one would be copied into every rendered file. */
export const MAX_CONFIG_STRING = 16 * 1024;

/**
 * What no schema can see: an own `__proto__` key (YAML and JSON keep it, assigning it to an
 * object drops it silently) and strings of any length, wherever they sit.
 */
function unrenderable(value: unknown, at: readonly string[] = []): ConfigProblem[] {
  if (typeof value === "string" && value.length > MAX_CONFIG_STRING) {
    return [{ key: at.join("."), message: `longer than ${MAX_CONFIG_STRING} characters`, got: `${value.length} characters`, allowed: `at most ${MAX_CONFIG_STRING} characters` }];
  }
  if (value === null || typeof value !== "object") return [];
  const out: ConfigProblem[] = [];
  for (const key of Object.getOwnPropertyNames(value)) {
    const path = [...at, key];
    if (key === "__proto__") {
      out.push({ key: path.join("."), message: "a key named __proto__ cannot be carried into the rendered config (it would be dropped silently)", got: "a __proto__ key", allowed: "any other key name" });
    } else if (key !== "length" || !Array.isArray(value)) out.push(...unrenderable((value as Record<string, unknown>)[key], path));
  }
  return out;
}

function resolve(input: StackConfigInput, secretKeys: readonly string[]): StackConfig {
  const profile = input.profile ?? "dev";
  const defaults = PROFILE_DEFAULTS[profile];
  const platform = input.platform ?? "docker";
  const components = { ...defaultComponents(profile, platform), ...definedOnly(input.components) };
  const bindAddress = input.bindAddress ?? DEFAULT_BIND_ADDRESS;
  const ex = input.exporter ?? {};
  const simulation = ex.simulation ?? defaults.simulation;
  const run = ex.run ?? "container";
  const servesSimulatedDcgm = simulation && run === "container" && !components.dcgmExporter;
  const scrapeIntervals = { ...defaultScrapeIntervals(), ...definedOnly(input.scrapeIntervals) };
  const defaultInterval = scrapeIntervals.default;
  return {
    platform,
    profile,
    namePrefix: input.namePrefix ?? DEFAULT_NAME_PREFIX,
    components,
    ...(input.gpu ? { gpu: { devices: input.gpu.devices, ...(input.gpu.collectors ? { collectors: input.gpu.collectors } : {}) } } : {}),
    exporter: {
      run,
      simulation,
      ...(servesSimulatedDcgm ? { simulatedDcgmPort: ex.simulatedDcgmPort ?? SIMULATED_DCGM_PORT } : {}),
      sources: definedOnly(Object.fromEntries(DS01_SOURCE_KEYS.map((k) => [k, ex[k]])) as ExporterSources),
      ...(ex.dockerGroupId !== undefined ? { dockerGroupId: ex.dockerGroupId } : {}),
      ...(ex.drmUrl !== undefined ? { drmUrl: ex.drmUrl } : {}),
      drmApiKey: secretKeys.includes("drmApiKey"),
      updateIntervalSeconds: ex.updateIntervalSeconds ?? DEFAULT_EXPORTER_UPDATE_INTERVAL_SECONDS,
      hostTarget: ex.hostTarget ?? DEFAULT_EXPORTER_HOST_TARGET,
      buildImage: ex.buildImage ?? true,
    },
    bindAddress,
    bindAddresses: Object.fromEntries(
      SERVICE_NAMES.map((s) => [s, input.bindAddresses?.[s] ?? bindAddress]),
    ) as Record<ServiceName, string>,
    exposeUnauthenticated: input.exposeUnauthenticated ?? false,
    ports: { ...defaultPorts(), ...definedOnly(input.ports) },
    images: { ...defaultImages(), ...definedOnly(input.images) },
    retention: { time: input.retention?.time ?? DEFAULT_RETENTION.time, size: input.retention?.size ?? DEFAULT_RETENTION.size },
    data: { retainOnDelete: input.data?.retainOnDelete ?? true, protect: input.data?.protect ?? false },
    scrapeIntervals,
    evaluationInterval: input.evaluationInterval ?? DEFAULT_EVALUATION_INTERVAL,
    externalLabels: { ...defaults.externalLabels, ...input.externalLabels },
    extraScrapeTargets: (input.extraScrapeTargets ?? []).map((t) => ({
      job: t.job,
      targets: t.targets,
      labels: t.labels ?? {},
      scrapeInterval: t.scrapeInterval ?? defaultInterval,
      metricsPath: t.metricsPath ?? "/metrics",
      scheme: t.scheme ?? "http",
    })),
    fileSd: {
      ...(input.fileSd?.hostDir ? { hostDir: input.fileSd.hostDir } : {}),
      jobs: (input.fileSd?.jobs ?? []).map((j) => ({
        job: j.job,
        files: j.files,
        refreshInterval: j.refreshInterval ?? "5m",
        scrapeInterval: j.scrapeInterval ?? defaultInterval,
      })),
    },
    slurm: resolveSlurm(input, defaultInterval),
    grafanaAdminUser: input.grafanaAdminUser ?? DEFAULT_GRAFANA_ADMIN_USER,
    ...(input.grafanaRootUrl ? { grafanaRootUrl: input.grafanaRootUrl } : {}),
    thresholds: input.thresholds,
    alerting: input.alerting,
    kubernetes: input.kubernetes,
    secretKeys,
  };
}

function resolveSlurm(input: StackConfigInput, defaultInterval: string): SlurmConfig {
  const s = input.slurm ?? {};
  return {
    enabled: s.enabled ?? false,
    pollInterval: s.pollInterval ?? DEFAULT_SLURM.pollInterval,
    commandTimeout: s.commandTimeout ?? DEFAULT_SLURM.commandTimeout,
    ...(s.slurmConf ? { slurmConf: s.slurmConf } : {}),
    discoveryRefreshInterval: s.discoveryRefreshInterval ?? DEFAULT_SLURM.discoveryRefreshInterval,
    monitoringTargets: (s.monitoringTargets ?? []).map((t) => ({
      job: t.job,
      port: t.port,
      // Exactly one is set; crossFieldProblems reports the targets where that is not so.
      select:
        t.jobName !== undefined
          ? { kind: "job-name", value: t.jobName }
          : t.jobId !== undefined
            ? { kind: "job-id", value: String(t.jobId) }
            : { kind: "host", value: t.host ?? "" },
      scrapeInterval: t.scrapeInterval ?? defaultInterval,
      metricsPath: t.metricsPath ?? "/metrics",
    })),
  };
}

function definedOnly<T extends object>(obj: T | undefined): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(obj ?? {}).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]-?: Exclude<T[K], undefined>;
  };
}

/** A host port the stack publishes, for the clash check. */
export interface PublishedPort {
  readonly service: ServiceName;
  /** Config key that sets this port. */
  readonly key: string;
  readonly bindAddress: string;
  readonly port: number;
}

/** Every host port the enabled services publish (Docker), or bind on the host (host-run exporter). */
export function publishedPorts(cfg: StackConfig): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const d of registeredServices()) {
    const s = d.name;
    // A service the platform does not have publishes nothing (switching it on is its own error).
    if (!cfg.components[s] || !availableOn(d, cfg.platform) || !(d.deployed?.(cfg) ?? true)) continue;
    out.push({ service: s, key: `ports.${s}`, bindAddress: cfg.bindAddresses[s], port: cfg.ports[s] });
  }
  if (cfg.components.exporter && cfg.exporter.simulatedDcgmPort !== undefined) {
    out.push({ service: "exporter", key: "exporter.simulatedDcgmPort", bindAddress: cfg.bindAddresses.exporter, port: cfg.exporter.simulatedDcgmPort });
  }
  return out;
}

/** Published ports of services without authentication on an address beyond loopback (Docker only). */
export function unauthenticatedExposures(cfg: StackConfig): PublishedPort[] {
  if (cfg.platform !== "docker") return [];
  const authenticated = new Set(registeredServices().filter((d) => d.requiresLogin).map((d) => d.name));
  return publishedPorts(cfg).filter((p) => !authenticated.has(p.service) && !p.bindAddress.startsWith("127."));
}

/** What `pulumi up` and `export` warn about: each service published without authentication beyond loopback. */
export function exposureWarnings(cfg: StackConfig): string[] {
  return unauthenticatedExposures(cfg).map(
    (p) => `${p.service} is published on ${p.bindAddress}:${p.port} without authentication (${p.key}, exposeUnauthenticated: true); anyone who reaches that address can read${p.service === "alertmanager" ? " and silence alerts" : " it"}`,
  );
}

/**
 * A user's own DCGM counter list replaces the stack's, which carries every field the alerts and
 * dashboards read: say so, since a field the list leaves out silences an alert without an error.
 */
export function collectorsWarnings(cfg: StackConfig): string[] {
  if (!cfg.components.dcgmExporter || !cfg.gpu?.collectors) return [];
  return [
    `the DCGM exporter reads the counter list ${cfg.gpu.collectors} (gpu.collectors) instead of the stack's own: alerts and panels on fields it leaves out (such as DCGM_FI_DEV_ECC_DBE_VOL_TOTAL) stay empty; leave gpu.collectors unset to deploy the stack's list`,
  ];
}

/** Everything worth telling the user about a valid config before it is deployed. */
export function configWarnings(cfg: StackConfig): string[] {
  return [...exposureWarnings(cfg), ...collectorsWarnings(cfg)];
}

function addressesOverlap(a: string, b: string): boolean {
  return a === b || a === "0.0.0.0" || b === "0.0.0.0";
}

function crossFieldProblems(cfg: StackConfig, input: StackConfigInput): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const on = cfg.components;

  for (const d of registeredServices()) {
    if (!availableOn(d, cfg.platform) && input.components?.[d.name] === true) {
      problems.push({
        key: `components.${d.name}`,
        message: `${d.name} runs on ${(d.platforms ?? []).join(", ")} only, not on ${cfg.platform}`,
        got: "true",
        allowed: `false, or platform: ${(d.platforms ?? [])[0] ?? cfg.platform}`,
      });
    }
    if (on[d.name]) problems.push(...(d.configProblems?.(cfg) ?? []));
  }

  const exposed = unauthenticatedExposures(cfg);
  if (exposed.length > 0 && !cfg.exposeUnauthenticated) {
    const key = input.bindAddresses && exposed.every((p) => input.bindAddresses?.[p.service] !== undefined) ? `bindAddresses.${exposed[0]!.service}` : "bindAddress";
    problems.push({
      key,
      message: `publishes ${[...new Set(exposed.map((p) => p.service))].join(", ")} beyond loopback, and they have no authentication`,
      got: renderValue(exposed[0]!.bindAddress),
      allowed: "127.0.0.1 (reach it over SSH or a reverse proxy with authentication), or exposeUnauthenticated: true to publish it anyway",
    });
  }

  if (cfg.platform === "docker") {
    const ports = publishedPorts(cfg);
    for (let i = 0; i < ports.length; i++) {
      for (let j = 0; j < i; j++) {
        const a = ports[i]!;
        const b = ports[j]!;
        if (a.port === b.port && addressesOverlap(a.bindAddress, b.bindAddress)) {
          problems.push({
            key: a.key,
            message: `port clashes with ${b.key} on ${a.bindAddress === "0.0.0.0" ? b.bindAddress : a.bindAddress}`,
            got: String(a.port),
            allowed: "a port no other enabled service publishes on the same address",
          });
        }
      }
    }
  }

  const reserved = new Set(Object.values(jobNames()));
  const seen = new Map<string, string>();
  const jobs: { key: string; job: string }[] = [
    ...cfg.extraScrapeTargets.map((t, i) => ({ key: `extraScrapeTargets.${i}.job`, job: t.job })),
    ...cfg.fileSd.jobs.map((j, i) => ({ key: `fileSd.jobs.${i}.job`, job: j.job })),
    // Several monitoring targets may share a scrape job; the job is one name among all the others.
    ...[...new Map(cfg.slurm.monitoringTargets.map((t, i) => [t.job, `slurm.monitoringTargets.${i}.job`])).entries()].map(([job, key]) => ({ key, job })),
  ];
  for (const { key, job } of jobs) {
    if (reserved.has(job)) {
      problems.push({ key, message: "job name is reserved for one of the stack's own jobs", got: renderValue(job), allowed: `any name but ${[...reserved].join(", ")}` });
    } else if (seen.has(job)) {
      problems.push({ key, message: `duplicate job name (also ${seen.get(job)})`, got: renderValue(job), allowed: "a job name used once" });
    } else {
      seen.set(job, key);
    }
  }
  if (cfg.fileSd.jobs.length > 0 && !cfg.fileSd.hostDir && cfg.platform === "docker") {
    problems.push({
      key: "fileSd.hostDir",
      message: "file_sd jobs are configured but no host directory holds their files",
      got: "nothing",
      allowed: "an absolute host path mounted read-only into Prometheus",
    });
  }

  if (on.exporter && cfg.exporter.run === "container") problems.push(...exporterSourceProblems(cfg, input));
  problems.push(...slurmProblems(cfg, input));
  if (cfg.exporter.drmApiKey && !cfg.exporter.drmUrl) {
    problems.push({ key: "exporter.drmUrl", message: "the drmApiKey secret is set but there is no DRM URL to use it with", got: "nothing", allowed: "an http(s) URL" });
  }

  for (const ref of secretReferences(cfg.alerting, ["alerting"])) {
    if (!cfg.secretKeys.includes(ref.name.replace(/^gpu-monitoring:/, ""))) {
      problems.push(unsetSecretProblem(ref.key));
    }
  }

  // Kubernetes-only settings checked here too, so they stop the program before any resource.
  problems.push(...kubernetesConfigProblems(cfg));
  return problems;
}

function slurmProblems(cfg: StackConfig, input: StackConfigInput): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const s = cfg.slurm;
  const given = input.slurm ?? {};
  if (!s.enabled) {
    if (given.monitoringTargets?.length) {
      problems.push({ key: "slurm.enabled", message: "monitoring targets are configured but the SLURM source is off", got: "false", allowed: "true, or no monitoringTargets" });
    }
    return problems;
  }
  if (!cfg.components.exporter) {
    problems.push({ key: "components.exporter", message: "the SLURM source runs in the exporter, which is off", got: "false", allowed: "true while slurm.enabled is true" });
  }
  if (cfg.platform !== "docker") {
    problems.push({ key: "slurm.enabled", message: "the SLURM source runs on a head or login node with the Docker platform", got: renderValue(cfg.platform), allowed: "platform docker" });
  }
  if (cfg.exporter.simulation) {
    problems.push({ key: "exporter.simulation", message: "a simulated exporter reads no SLURM cluster", got: "true", allowed: "false while slurm.enabled is true" });
  }
  const poll = durationMs(s.pollInterval) / 1000;
  if (poll < 1 || poll > 3600) problems.push({ key: "slurm.pollInterval", message: "poll interval out of range", got: renderValue(s.pollInterval), allowed: "1s to 1h" });
  const timeout = durationMs(s.commandTimeout) / 1000;
  if (timeout < 0.1 || timeout > 3600) problems.push({ key: "slurm.commandTimeout", message: "command timeout out of range", got: renderValue(s.commandTimeout), allowed: "100ms to 1h" });
  for (const [i, t] of (given.monitoringTargets ?? []).entries()) {
    const set = (["jobName", "jobId", "host"] as const).filter((k) => t[k] !== undefined);
    if (set.length !== 1) {
      problems.push({
        key: `slurm.monitoringTargets.${i}`,
        message: set.length === 0 ? "says nowhere where the service runs" : `gives ${set.join(" and ")} at once`,
        got: renderValue(t),
        allowed: "exactly one of jobName, jobId, host",
      });
    }
  }
  const firstOfJob = new Map<string, SlurmMonitoringTarget>();
  for (const [i, t] of s.monitoringTargets.entries()) {
    const first = firstOfJob.get(t.job);
    if (!first) {
      firstOfJob.set(t.job, t);
    } else if (first.scrapeInterval !== t.scrapeInterval || first.metricsPath !== t.metricsPath) {
      problems.push({
        key: `slurm.monitoringTargets.${i}`,
        message: `scrape job ${t.job} is one Prometheus job: its targets must share scrapeInterval and metricsPath`,
        got: renderValue({ scrapeInterval: t.scrapeInterval, metricsPath: t.metricsPath }),
        allowed: renderValue({ scrapeInterval: first.scrapeInterval, metricsPath: first.metricsPath }),
      });
    }
  }
  return problems;
}

/** Alerting config names its secrets in fields called `*Secret`; each must be set. */
function secretReferences(value: unknown, path: string[]): { key: string; name: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => secretReferences(v, [...path, String(i)]));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) =>
    k.endsWith("Secret") && typeof v === "string" ? [{ key: [...path, k].join("."), name: v }] : secretReferences(v, [...path, k]),
  );
}

/** Stack keys of the exporter's settings, for the rule the exporter applies to its flags. */
const STACK_SETTING_KEYS: Readonly<Record<SourceSetting, string>> = {
  simulation: "exporter.simulation",
  simulationSeed: "exporter.simulationSeed",
  simulationOverrides: "exporter.simulationOverrides",
  simulateDcgmPort: "exporter.simulatedDcgmPort",
  dockerSocket: "exporter.dockerSocket",
  stateFile: "exporter.stateFile",
  deviceMap: "exporter.deviceMap",
  eventsFile: "exporter.eventsFile",
  stateDir: "exporter.stateDir",
  utmpFile: "exporter.utmpFile",
  groupsDir: "exporter.groupsDir",
  cgroupRoot: "exporter.cgroupRoot",
  drmUrl: "exporter.drmUrl",
  apiKey: "drmApiKey",
  slurm: "slurm.enabled",
};

/**
 * The exporter's own source rule (exporter/source-rules.ts) applied to what the stack would pass
 * it, so a stack whose exporter refuses its arguments stops here, before any resource.
 */
function exporterSourceProblems(cfg: StackConfig, input: StackConfigInput): ConfigProblem[] {
  const ex = cfg.exporter;
  const settings: SourceSettings = {
    simulation: ex.simulation,
    ...ex.sources,
    ...(ex.simulatedDcgmPort !== undefined ? { simulateDcgmPort: ex.simulatedDcgmPort } : {}),
    ...(ex.drmUrl !== undefined ? { drmUrl: ex.drmUrl } : {}),
    apiKey: ex.drmApiKey,
    slurm: cfg.slurm.enabled,
  };
  const name = (s: SourceSetting): string => STACK_SETTING_KEYS[s];
  return sourceProblems(settings, name).map((p) => {
    const key = name(p.settings[0]);
    const got = Object.fromEntries(p.settings.map((s) => [name(s), s === "apiKey" ? REDACTED : (valueAt(input, name(s).split(".")) ?? settings[s])]));
    return { key, message: p.message, got: renderConfigValue(["exporter"], got), allowed: p.allowed };
  });
}
