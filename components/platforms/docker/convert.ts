import * as path from "node:path";
import type { ConfigFileSpec, HealthCheckSpec, SecretFileSpec, ServiceSpec } from "../../spec";

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
    // DCGM takes up to a minute to open the GPUs.
    startPeriod: spec.name === "dcgmExporter" ? "60s" : "30s",
  };
}

function commandFor(check: HealthCheckSpec): string[] {
  return check.kind === "exec"
    ? ["CMD", ...check.command]
    : ["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${check.port}${check.path}`];
}

/** The deepest directory holding every one of `files` (absolute container paths). */
export function commonDirectory(files: readonly string[]): string {
  if (files.length === 0) throw new Error("no files");
  const dirs = files.map((f) => path.posix.dirname(f).split("/").filter(Boolean));
  const first = dirs[0]!;
  let n = 0;
  while (n < first.length && dirs.every((d) => d[n] === first[n])) n++;
  return `/${first.slice(0, n).join("/")}`;
}

/**
 * Where a read-only container's config volume goes: Docker refuses uploads into a read-only
 * root filesystem but accepts them into a volume, so configs and secrets go into a volume
 * mounted at the deepest directory that holds them all. Undefined when no volume is needed.
 */
export function configMountPath(spec: Pick<ServiceSpec, "readOnlyRootFilesystem" | "configFiles" | "secretFiles">): string | undefined {
  const files = [...spec.configFiles.map((f) => f.path), ...spec.secretFiles.map((f) => f.path)];
  if (!spec.readOnlyRootFilesystem || files.length === 0) return undefined;
  const dir = commonDirectory(files);
  if (dir === "/") throw new Error("config and secret files of a read-only container must share a directory below /");
  return dir;
}

/** FNV-1a 32-bit over the plain config files and the secret file paths (never secret values). */
export function configDigest(configFiles: readonly ConfigFileSpec[], secretFiles: readonly SecretFileSpec[]): string {
  let h = 0x811c9dc5;
  const feed = (s: string): void => {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  };
  for (const f of [...configFiles].sort((a, b) => a.path.localeCompare(b.path))) {
    feed(f.path);
    feed("\0");
    feed(f.content);
    feed("\0");
  }
  for (const f of [...secretFiles].sort((a, b) => a.path.localeCompare(b.path))) feed(`secret:${f.path}\0`);
  return h.toString(16).padStart(8, "0");
}

/** uid part of a `uid[:gid]` user, for upload ownership. */
export function uidOf(user: string | undefined): string | undefined {
  return user?.split(":")[0];
}
