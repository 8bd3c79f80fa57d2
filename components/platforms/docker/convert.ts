import { findServiceDescriptor } from "../../services/registry";
import type { HealthCheckSpec, ServiceSpec } from "../../spec";

/**
 * Pure pieces of the Docker platform: ServiceSpec fields → Docker provider argument values.
 * Kept apart from the resources so they are testable without Pulumi.
 */

/** Kubernetes-style quantity → megabytes (Docker's `memory`). */
export function memoryMb(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(quantity);
  if (!m) throw new Error(`not a memory quantity: ${quantity}`);
  const n = Number(m[1]);
  const factor: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024, K: 1e3 / 1048576, M: 1e6 / 1048576, G: 1e9 / 1048576, T: 1e12 / 1048576 };
  return Math.max(4, Math.ceil(m[2] ? n * factor[m[2]]! : n / 1048576));
}

/** Kubernetes-style CPU quantity ("500m", "1") → Docker's `cpus` string ("0.5", "1"). */
export function cpus(quantity: string): string {
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(quantity);
  if (!m) throw new Error(`not a CPU quantity: ${quantity}`);
  const value = m[2] ? Number(m[1]) / 1000 : Number(m[1]);
  return String(Number(value.toFixed(3)));
}

export interface DockerHealthcheck {
  readonly tests: string[];
  readonly interval: string;
  readonly timeout: string;
  readonly retries: number;
  readonly startPeriod: string;
}

/** Docker can only run commands: the spec's command form, else wget against the HTTP check. */
export function healthcheck(spec: Pick<ServiceSpec, "healthCheck" | "healthCommand" | "name">): DockerHealthcheck | undefined {
  const tests = spec.healthCommand
    ? ["CMD", ...spec.healthCommand]
    : spec.healthCheck
      ? commandFor(spec.healthCheck)
      : undefined;
  if (!tests) return undefined;
  return {
    tests,
    interval: "30s",
    timeout: "10s",
    retries: 3,
    // Slow starters (DCGM opening the GPUs) say so in their descriptor.
    startPeriod: findServiceDescriptor(spec.name)?.docker?.healthStartPeriod ?? "30s",
  };
}

function commandFor(check: HealthCheckSpec): string[] {
  return check.kind === "exec"
    ? ["CMD", ...check.command]
    : ["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${check.port}${check.path}`];
}

/**
 * Whether the container can have a read-only root filesystem on Docker. The Docker provider
 * uploads files by extracting an archive at `/`, and the engine refuses that for a read-only root
 * ("container rootfs is marked read-only") even where the files would land in a volume. So a
 * container that receives config or secret files keeps a writable root; its files are uploaded
 * root-owned and read-only (0444/0400), and the service runs as a non-root user that cannot change
 * them. Containers without uploads get the read-only root their spec asks for.
 */
export function dockerReadOnlyRoot(spec: Pick<ServiceSpec, "readOnlyRootFilesystem" | "configFiles" | "secretFiles">): boolean {
  return spec.readOnlyRootFilesystem && spec.configFiles.length === 0 && spec.secretFiles.length === 0;
}

/** uid part of a `uid[:gid]` user, for upload ownership. */
export function uidOf(user: string | undefined): string | undefined {
  return user?.split(":")[0];
}

/**
 * The device request's capability: `gpu` (what `docker run --gpus` asks for) or `utility` (what
 * `--gpus 'all,"capabilities=utility"'` asks for: nvidia-smi and NVML only). Docker's NVIDIA
 * driver turns an NVIDIA capability into NVIDIA_DRIVER_CAPABILITIES for the container toolkit.
 */
export function gpuCapability(spec: Pick<ServiceSpec, "gpuCapability">): string {
  return spec.gpuCapability === "utility" ? "utility" : "gpu";
}
