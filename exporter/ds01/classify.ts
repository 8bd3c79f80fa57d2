import type { Ds01Interface, UnmanagedGpuContainer } from "./model";

/** What the DS01 collector needs to know about one Docker container. */
export interface ContainerRecord {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Docker state: running, exited, created, paused, restarting, dead. */
  readonly state: string;
  readonly cgroupParent: string;
  /** GPU/MIG UUIDs or indices from device requests, else from the `ds01.gpu.uuids` label. */
  readonly deviceIds: readonly string[];
  /** A device request for every GPU (`--gpus all`). */
  readonly allGpus: boolean;
  /** GPUs asked for by count (`--gpus 2`) rather than by device; 0 when none. */
  readonly gpuCount: number;
}

export type ContainerKind = "ds01" | "infrastructure" | "unmanaged-gpu" | "other";

/** The monitoring stack's own containers; they are never counted as users' work. */
export const INFRASTRUCTURE_NAMES: ReadonlySet<string> = new Set([
  "ds01-prometheus",
  "ds01-grafana",
  "ds01-alertmanager",
  "ds01-dcgm-exporter",
  "ds01-node-exporter",
]);

const AIME_SEPARATOR = "._.";

export function hasGpus(c: ContainerRecord): boolean {
  return c.deviceIds.length > 0 || c.allGpus || c.gpuCount > 0;
}

export function classifyContainer(c: ContainerRecord): ContainerKind {
  if ("ds01.protected" in c.labels && c.labels["ds01.protected"] !== "false") return "infrastructure";
  if (INFRASTRUCTURE_NAMES.has(c.name)) return "infrastructure";
  const isDs01 =
    c.cgroupParent.startsWith("ds01") || Object.keys(c.labels).some((k) => k.startsWith("ds01.")) || c.name.includes(AIME_SEPARATOR);
  if (isDs01) return "ds01";
  return hasGpus(c) ? "unmanaged-gpu" : "other";
}

const DS01_INTERFACES: ReadonlySet<string> = new Set(["orchestration", "atomic", "api"]);

export function containerInterface(c: ContainerRecord): Ds01Interface {
  const label = c.labels["ds01.interface"];
  if (label !== undefined && DS01_INTERFACES.has(label)) return label as Ds01Interface;
  if (c.labels["ds01.managed"] === "true") return "atomic";
  if (c.name.includes(AIME_SEPARATOR)) return "atomic";
  const keys = Object.keys(c.labels);
  if (
    c.name.startsWith("vscode-") ||
    keys.some((k) => k.startsWith("devcontainer")) ||
    keys.some((k) => k.startsWith("com.docker.compose.")) ||
    c.name.startsWith("jupyter-") ||
    c.name.startsWith("jupyterhub-") ||
    "hub.jupyter.org/username" in c.labels
  ) {
    return "other";
  }
  return "docker";
}

/** Resolves a numeric uid to a user name (the passwd database); undefined if unknown. */
export type UidResolver = (uid: string) => string | undefined;

/** `ds01.user`, else `aime.mlc.USER`, else the cgroup parent's user, else the AIME name's uid. */
export function containerUser(c: ContainerRecord, resolveUid: UidResolver): string {
  const label = c.labels["ds01.user"] ?? c.labels["aime.mlc.USER"];
  if (label) return label;
  const slice = /^ds01-[^-]+-(.+)\.slice$/.exec(c.cgroupParent);
  if (slice) return slice[1]!;
  const at = c.name.lastIndexOf(AIME_SEPARATOR);
  if (at >= 0) {
    const uid = c.name.slice(at + AIME_SEPARATOR.length);
    if (/^\d+$/.test(uid)) return resolveUid(uid) ?? uid;
  }
  return "unknown";
}

const HOME_DIR = /^\/home\/([^/]+)/;
/** Docker's State.Running is true in these states too. */
const RUNNING_STATES: ReadonlySet<string> = new Set(["running", "paused", "restarting"]);

/**
 * A container DS01 does not manage, as ds01_unmanaged_gpu_container reports it. Its owner is
 * read, as DS01 does, from the home directory its dev container folder
 * (`devcontainer.local_folder`) or compose project (`com.docker.compose.project.working_dir`) is in.
 */
export function unmanagedGpuContainer(c: ContainerRecord): UnmanagedGpuContainer {
  const folder = c.labels["devcontainer.local_folder"] || c.labels["com.docker.compose.project.working_dir"] || "";
  const user = HOME_DIR.exec(folder)?.[1] ?? "unknown";
  const running = RUNNING_STATES.has(c.state);
  if (c.allGpus) return { name: c.name, user, gpuCount: "ALL", accessType: "all", running };
  if (c.deviceIds.length > 0) return { name: c.name, user, gpuCount: String(c.deviceIds.length), accessType: "specific", running };
  return { name: c.name, user, gpuCount: String(c.gpuCount), accessType: "count", running };
}

/** Splits the `ds01.gpu.uuids` label (comma-separated). */
export function labelDeviceIds(labels: Readonly<Record<string, string>>): string[] {
  const raw = labels["ds01.gpu.uuids"];
  if (!raw) return [];
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Parses passwd(5) text into uid → name. */
export function parsePasswd(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 3 && fields[0] && /^\d+$/.test(fields[2]!)) users.set(fields[2]!, fields[0]);
  }
  return users;
}
