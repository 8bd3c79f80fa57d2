import * as path from "node:path";
import { DS01_SOURCE_KEYS, SIMULATED_DCGM_PORT, hasDs01Source, type Ds01SourceKey, type StackConfig } from "../config";
import type { HostMountSpec, PortSpec, ServiceSpec } from "../spec";
import { slurmArgs } from "../render/exporterArgs";
import { NOBODY, baseSpec, mainPort, resources } from "./common";

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
 * Our DS01/DRM exporter (image from exporter/Dockerfile, whose entrypoint runs the exporter; the
 * spec passes its flags, replacing the image's default simulation flags). DS01's sources are mounted read-only
 * (DS01_SOURCE_FLAGS says how). A read-only socket mount still allows every API
 * call, so the exporter gets the socket only when `dockerSocket` is configured; it only reads.
 */
export function exporterService(cfg: StackConfig): ServiceSpec {
  const port = mainPort(cfg, "exporter", "metrics");
  const ex = cfg.exporter;
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
  const listsGpus = cfg.gpu !== undefined && !ex.simulation && Boolean(ex.sources.dockerSocket || ex.sources.stateFile);
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
