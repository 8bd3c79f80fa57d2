import * as path from "node:path";
import { STACK_JOB_NAMES } from "../../metrics/jobs";
import { DS01_SOURCE_KEYS, SIMULATED_DCGM_PORT, hasDs01Source, type Ds01SourceKey } from "../config/defaults";
import type { StackConfig } from "../config/resolve";
import type { ExporterWorkloads } from "../platforms/kubernetes/config";
import { slurmArgs } from "../render/exporterArgs";
import type { HostMountSpec, PortSpec, ServiceSpec } from "../spec";
import { NOBODY, baseSpec, mainPort, portOfUrl, resources } from "./common";
import type { ServiceDescriptor } from "./descriptor";

/** Secret key of the DRM API key and where the exporter reads it. */
export const DRM_API_KEY_SECRET = "drmApiKey";
export const DRM_API_KEY_FILE = "/run/gpu-monitoring/secrets/drm_api_key";
/** Where DS01's host paths appear in the container: the same path below /host. */
export const HOST_PREFIX = "/host";

/**
 * Each DS01 source: its exporter flag and what is mounted for it. `parent`: the file's
 * directory, because DS01 replaces the file by rename and a bind-mounted file would keep
 * showing the old inode. `path`: the path itself (a socket, a directory, the utmp file that
 * login rewrites in place, the cgroup mount).
 */
export const DS01_SOURCE_FLAGS: Readonly<Record<Ds01SourceKey, { readonly flag: string; readonly mount: "path" | "parent" }>> = {
  dockerSocket: { flag: "--docker-socket", mount: "path" },
  stateFile: { flag: "--state-file", mount: "parent" },
  eventsFile: { flag: "--events-file", mount: "parent" },
  stateDir: { flag: "--state-dir", mount: "path" },
  utmpFile: { flag: "--utmp-file", mount: "path" },
  groupsDir: { flag: "--groups-dir", mount: "path" },
  cgroupRoot: { flag: "--cgroup-root", mount: "path" },
};

/**
 * The exporter's sources in the groups one workload can take without another: DS01's host files
 * (node-local), the DRM API (cluster-wide) and the simulation (with its DCGM endpoint).
 */
export interface ExporterSourceGroups {
  readonly ds01: boolean;
  readonly drm: boolean;
  readonly simulation: boolean;
}

export const ALL_EXPORTER_SOURCES: ExporterSourceGroups = { ds01: true, drm: true, simulation: true };

/**
 * Our DS01/DRM exporter (image from exporter/Dockerfile, whose entrypoint runs the exporter; the
 * spec passes its flags, replacing the image's default simulation flags). DS01's sources are mounted read-only
 * (DS01_SOURCE_FLAGS says how). A read-only socket mount still allows every API
 * call, so the exporter gets the socket only when `dockerSocket` is configured; it only reads.
 * `groups` picks which of the configured sources this instance reads (a cluster runs the DRM
 * reader and the DS01 reader as separate workloads); by default all of them.
 */
export function exporterService(cfg: StackConfig, groups: ExporterSourceGroups = ALL_EXPORTER_SOURCES): ServiceSpec {
  const port = mainPort(cfg, "exporter");
  const configured = cfg.exporter;
  const ex = {
    ...configured,
    simulation: groups.simulation && configured.simulation,
    simulatedDcgmPort: groups.simulation ? configured.simulatedDcgmPort : undefined,
    sources: groups.ds01 ? configured.sources : {},
    drmUrl: groups.drm ? configured.drmUrl : undefined,
    drmApiKey: groups.drm && configured.drmApiKey,
  };
  const mounts = new Map<string, HostMountSpec>();
  const mount = (hostPath: string): void => {
    mounts.set(hostPath, { hostPath, mountPath: `${HOST_PREFIX}${hostPath}`, readOnly: true });
  };
  const args = [
    // Inside the container; Docker publishes the port on the configured (loopback) address only.
    "--bind=0.0.0.0",
    `--metrics-port=${port.containerPort}`,
    `--update-interval=${ex.updateIntervalSeconds}`,
  ];
  const ports: PortSpec[] = [port];
  // A simulating exporter lists no GPUs, whichever sources this instance reads.
  const listsGpus = cfg.gpu !== undefined && !configured.simulation && Boolean(ex.sources.dockerSocket || ex.sources.stateFile);
  if (ex.simulation) args.push("--simulation");
  if (ex.simulatedDcgmPort !== undefined) {
    args.push(`--simulate-dcgm-port=${SIMULATED_DCGM_PORT}`);
    ports.push({ name: "dcgm-sim", containerPort: SIMULATED_DCGM_PORT, hostPort: ex.simulatedDcgmPort });
  }
  for (const key of DS01_SOURCE_KEYS) {
    const hostPath = ex.sources[key];
    if (hostPath === undefined) continue;
    const { flag, mount: how } = DS01_SOURCE_FLAGS[key];
    args.push(`${flag}=${HOST_PREFIX}${hostPath}`);
    mount(how === "parent" ? path.posix.dirname(hostPath) : hostPath);
  }
  if (ex.drmUrl) args.push(`--drm-url=${ex.drmUrl}`);
  if (ex.drmApiKey) args.push(`--api-key-file=${DRM_API_KEY_FILE}`);
  args.push(...slurmArgs(cfg));
  return {
    ...baseSpec(cfg, "exporter"),
    args,
    ports,
    secretFiles: ex.drmApiKey ? [{ path: DRM_API_KEY_FILE, secretKey: DRM_API_KEY_SECRET }] : [],
    hostMounts: [...mounts.values()].sort((a, b) => a.mountPath.localeCompare(b.mountPath)),
    user: NOBODY,
    ...(ex.dockerGroupId !== undefined && ex.sources.dockerSocket ? { supplementalGroups: [ex.dockerGroupId] } : {}),
    healthCheck: { kind: "http", path: "/-/healthy", port: port.containerPort },
    healthCommand: [
      "node",
      "-e",
      `fetch("http://127.0.0.1:${port.containerPort}/-/healthy").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
    ],
    // On a GPU host the exporter maps device UUIDs to DS01 slots with `nvidia-smi -L`; the
    // toolkit's utility capability gives it that program and nothing to compute with.
    ...(listsGpus ? { gpus: "all" as const, gpuCapability: "utility" as const } : {}),
    resources: resources("50m", "64Mi", "500m", "256Mi"),
    placement: hasDs01Source(ex.sources) ? "gpuNodes" : "cluster",
  };
}

/** The DS01 exporter's DaemonSet is named after its Deployment with this suffix. */
export const EXPORTER_NODE_SUFFIX = "-node";

/** Which exporter workloads run on a cluster: `auto` follows the configured sources. */
export function exporterWorkloads(cfg: StackConfig): Exclude<ExporterWorkloads, "auto"> {
  const mode = cfg.kubernetes.exporterWorkloads;
  if (mode !== "auto") return mode;
  const nodeLocal = hasDs01Source(cfg.exporter.sources);
  const clusterWide = Boolean(cfg.exporter.drmUrl) || cfg.exporter.simulation;
  return nodeLocal ? (clusterWide ? "both" : "daemonSet") : "deployment";
}

/**
 * The exporter on a cluster: a Deployment for the cluster-wide sources (DRM API, simulation)
 * and/or a DaemonSet on GPU nodes for DS01's host files, each built with its own sources only,
 * so no series is exported twice.
 */
export function exporterClusterSpecs(cfg: StackConfig): ServiceSpec[] {
  const deployment = (): ServiceSpec => ({ ...exporterService(cfg, { ds01: false, drm: true, simulation: true }), placement: "cluster" });
  const daemonSet = (groups: ExporterSourceGroups): ServiceSpec => {
    const spec = exporterService(cfg, groups);
    return { ...spec, resourceName: `${spec.resourceName}${EXPORTER_NODE_SUFFIX}`, placement: "gpuNodes" };
  };
  switch (exporterWorkloads(cfg)) {
    case "deployment":
      return [deployment()];
    case "daemonSet":
      return [daemonSet(ALL_EXPORTER_SOURCES)];
    case "both":
      return [deployment(), daemonSet({ ds01: true, drm: false, simulation: false })];
  }
}

export const exporter: ServiceDescriptor = {
  name: "exporter",
  componentType: "Ds01Exporter",
  summary: "Our exporter: DS01's containers, allocations and users, the DRM API, SLURM jobs, or a simulation of all",
  image: "gpu-monitoring/exporter:0.1.0",
  port: { name: "metrics", number: 9101 },
  enabledByDefault: { dev: true, prod: true },
  // Run by systemd on the host (a SLURM head node): scraped where the config says, not deployed.
  deployed: (cfg) => cfg.exporter.run === "container",
  externalTarget: (cfg) => cfg.exporter.hostTarget,
  scrape: {
    job: STACK_JOB_NAMES.exporter,
    interval: "30s",
    kubernetes: { perNode: (cfg) => exporterWorkloads(cfg) === "daemonSet", dataLabelsOf: ["ds01", "drm", "exporter"] },
  },
  probe: { path: "/-/healthy", kind: "healthy" },
  build: (cfg) => exporterService(cfg),
  docker: { build: { dockerfile: "exporter/Dockerfile", when: (cfg) => cfg.exporter.buildImage } },
  kubernetes: {
    imageUid: 65534,
    clusterSpecs: (cfg) => exporterClusterSpecs(cfg),
    egress: { ports: (cfg) => (cfg.exporter.drmUrl ? [portOfUrl(cfg.exporter.drmUrl)] : []) },
  },
};
