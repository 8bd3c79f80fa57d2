import * as path from "node:path";
import { SIMULATED_DCGM_PORT, type StackConfig } from "../config";
import type { HostMountSpec, PortSpec, ServiceSpec } from "../spec";
import { slurmArgs } from "../render/exporterArgs";
import { NOBODY, baseSpec, mainPort, resources } from "./common";

/** Secret key of the DRM API key and where the exporter reads it. */
export const DRM_API_KEY_SECRET = "drmApiKey";
export const DRM_API_KEY_FILE = "/run/gpu-monitoring/secrets/drm_api_key";
/** Where DS01's host paths appear in the container: the same path below /host. */
export const HOST_PREFIX = "/host";

/**
 * Our DS01/DRM exporter (image from exporter/Dockerfile, whose entrypoint runs the exporter; the
 * spec passes its flags, replacing the image's default simulation flags). DS01's sources are mounted read-only:
 * the state file's and events log's directories (not the files, which DS01 replaces by rename),
 * the state directory, and the Docker socket. A read-only socket mount still allows every API
 * call, so the exporter gets the socket only when `dockerSocket` is configured; it only reads.
 */
export function exporterService(cfg: StackConfig): ServiceSpec {
  const port = mainPort(cfg, "exporter", "metrics");
  const ex = cfg.exporter;
  const mounts = new Map<string, HostMountSpec>();
  const mountDir = (dir: string): void => {
    mounts.set(dir, { hostPath: dir, mountPath: `${HOST_PREFIX}${dir}`, readOnly: true });
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
  if (ex.sources.dockerSocket) {
    args.push(`--docker-socket=${HOST_PREFIX}${ex.sources.dockerSocket}`);
    mounts.set(ex.sources.dockerSocket, { hostPath: ex.sources.dockerSocket, mountPath: `${HOST_PREFIX}${ex.sources.dockerSocket}`, readOnly: true });
  }
  if (ex.sources.stateFile) {
    args.push(`--state-file=${HOST_PREFIX}${ex.sources.stateFile}`);
    mountDir(path.posix.dirname(ex.sources.stateFile));
  }
  if (ex.sources.eventsFile) {
    args.push(`--events-file=${HOST_PREFIX}${ex.sources.eventsFile}`);
    mountDir(path.posix.dirname(ex.sources.eventsFile));
  }
  if (ex.sources.stateDir) {
    args.push(`--state-dir=${HOST_PREFIX}${ex.sources.stateDir}`);
    mountDir(ex.sources.stateDir);
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
    placement: ex.sources.dockerSocket || ex.sources.stateFile || ex.sources.stateDir ? "gpuNodes" : "cluster",
  };
}
