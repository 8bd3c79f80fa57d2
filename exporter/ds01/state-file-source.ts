import { promises as fs } from "node:fs";
import { parseJsonNamed } from "../core/json-shape";
import { readRegularFile } from "../core/regular-file";
import type { Source } from "../core/source";
import * as z from "../core/zod";
import { DeviceMapFile, MIG_SLICES_PER_GPU, migProfileEquivalents, type DeviceMap, type DeviceMapSource } from "./device-map";
import type { Allocation, Ds01Container, Ds01Interface, Ds01Snapshot, GpuDevice, MigDevice } from "./model";

export interface StateFileSourceOptions {
  /** DS01's gpu-state JSON, e.g. /var/lib/ds01/gpu-state.json. */
  readonly path: string;
  /** Optional device map to fill in UUIDs, models and MIG profiles the state file leaves out. */
  readonly deviceMapFile?: string;
  /** Where the device map comes from otherwise (e.g. `nvidia-smi -L`); ignored when deviceMapFile is set. */
  readonly deviceMap?: DeviceMapSource;
  /** Files larger than this are refused unread. Default 32 MiB. */
  readonly maxBytes?: number;
  /** Source name in ds01_exporter_source_*; default "state_file". */
  readonly name?: string;
  /**
   * Container allocations published at most; the rest (in slot order) are left out and counted in
   * ds01_exporter_source_dropped_total. Every allocation is several series. Default 10,000.
   */
  readonly maxContainers?: number;
}

export const DEFAULT_STATE_FILE_MAX_CONTAINERS = 10_000;

/** The state with at most `max` container entries, in slot order, and how many were left out. */
export function capContainers(state: GpuState, max: number): { state: GpuState; dropped: number } {
  let room = max;
  let dropped = 0;
  const gpus: GpuState["gpus"] = {};
  for (const slot of Object.keys(state.gpus).sort(compareSlots)) {
    const entry = state.gpus[slot]!;
    const kept = entry.containers.slice(0, Math.max(0, room));
    room -= kept.length;
    dropped += entry.containers.length - kept.length;
    gpus[slot] = kept.length === entry.containers.length ? entry : { ...entry, containers: kept };
  }
  return { state: dropped === 0 ? state : { ...state, gpus }, dropped };
}

const containerSchema = z.object({
  container: z.string().check(z.minLength(1)),
  user: z.string(),
  allocated_at: z.optional(z.string()),
  interface: z.optional(z.string()),
  status: z.optional(z.string()),
});

const slotSchema = z.object({
  type: z.optional(z.string()),
  containers: z.array(containerSchema),
  total_memory: z.optional(z.string()),
  uuid: z.optional(z.string()),
  model: z.optional(z.string()),
  profile: z.optional(z.string()),
  gpu_instance_id: z.optional(z.union([z.string(), z.number()])),
});

/**
 * DS01's gpu-state file: slots keyed by `"<gpu>"` (physical GPU) or `"<gpu>.<mig device>"`
 * (MIG instance), each with the containers holding it. Fields beyond the fixture's
 * (uuid, model, profile, gpu_instance_id, status) are optional.
 */
export const gpuStateSchema = z.object({
  gpus: z.record(z.string().check(z.regex(/^\d+(\.\d+)?$/, "slot keys are <gpu> or <gpu>.<mig>")), slotSchema),
  mig_enabled: z.optional(z.boolean()),
  last_updated: z.optional(z.string()),
});

export type GpuState = z.infer<typeof gpuStateSchema>;

const INTERFACES: ReadonlySet<string> = new Set(["orchestration", "atomic", "api", "other", "docker"]);

/**
 * Allocations read from DS01's gpu-state file. The file is re-read and re-validated only when
 * its inode, size or mtime changes; while it stays the same, a read costs one stat(). A file that
 * fails to read or validate keeps failing (the collector keeps the last good snapshot) until it
 * changes. Containers take status "unknown" unless the file says otherwise: the state file
 * records allocations, not Docker states.
 */
export class StateFileSource implements Source<Ds01Snapshot> {
  readonly name: string;
  private readonly maxBytes: number;
  private readonly deviceMap: DeviceMapSource | undefined;
  private key = "";
  private result: { ok: true; snapshot: Ds01Snapshot } | { ok: false; error: Error } | undefined;
  private mapUsed: DeviceMap | undefined;
  private readonly maxContainers: number;
  private droppedTotal = 0;

  constructor(private readonly opts: StateFileSourceOptions) {
    this.name = opts.name ?? "state_file";
    this.maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
    this.maxContainers = opts.maxContainers ?? DEFAULT_STATE_FILE_MAX_CONTAINERS;
    this.deviceMap = opts.deviceMapFile ? new DeviceMapFile(opts.deviceMapFile) : opts.deviceMap;
  }

  async read(): Promise<Ds01Snapshot> {
    // Both checked at once: a scrape waits for one round trip to the file system, not two.
    const [statted, mapped] = await Promise.allSettled([fs.stat(this.opts.path), this.deviceMap?.load()]);
    if (statted.status === "rejected") throw statted.reason;
    const stat = statted.value;
    if (!stat.isFile()) throw new Error(`state file ${this.opts.path} is not a regular file`);
    if (mapped.status === "rejected") throw mapped.reason;
    const devices = mapped.value;
    const key = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    if (key !== this.key || devices !== this.mapUsed || !this.result) {
      this.key = key;
      this.mapUsed = devices;
      this.result = await this.load(stat.size, devices);
    }
    if (!this.result.ok) throw this.result.error;
    return this.result.snapshot;
  }

  async close(): Promise<void> {}

  /** Containers left out past the cap, summed over every version of the file read so far. */
  readonly dropped = (): number => this.droppedTotal;

  private async load(size: number, devices: DeviceMap | undefined): Promise<{ ok: true; snapshot: Ds01Snapshot } | { ok: false; error: Error }> {
    try {
      if (size > this.maxBytes) throw new Error(`state file is ${size} bytes, over the ${this.maxBytes} limit`);
      const text = (await readRegularFile(this.opts.path, "state file", this.maxBytes)).toString("utf8");
      const json = parseJsonNamed(text, "state file");
      const parsed = gpuStateSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`state file does not match the gpu-state format at ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
      }
      const capped = capContainers(parsed.data, this.maxContainers);
      this.droppedTotal += capped.dropped;
      return { ok: true, snapshot: snapshotFromState(capped.state, devices) };
    } catch (err: unknown) {
      return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
  }
}

/** Builds the snapshot a gpu-state document describes. */
export function snapshotFromState(state: GpuState, devices?: DeviceMap): Ds01Snapshot {
  const gpus = new Map<string, GpuDevice>();
  const migs: MigDevice[] = [];
  const allocations: Allocation[] = [];
  const containers = new Map<string, Ds01Container>();
  const migEnabled = state.mig_enabled ?? false;
  const keys = Object.keys(state.gpus).sort(compareSlots);
  const knownGpu = (index: string) => devices?.gpus.find((g) => g.index === index);
  for (const slot of keys) {
    const entry = state.gpus[slot]!;
    const [gpuIndex, migIndex] = slot.split(".") as [string, string | undefined];
    const isMig = migIndex !== undefined;
    if (!gpus.has(gpuIndex) || isMig) {
      const known = knownGpu(gpuIndex);
      const previous = gpus.get(gpuIndex);
      gpus.set(gpuIndex, {
        index: gpuIndex,
        uuid: (!isMig ? entry.uuid : undefined) ?? previous?.uuid ?? known?.uuid ?? "",
        model: (!isMig ? entry.model : undefined) ?? previous?.model ?? known?.model ?? "",
        migEnabled: isMig || (previous?.migEnabled ?? false) || (known?.migEnabled ?? false),
      });
    }
    let uuid: string;
    let profile: string;
    let gpuEquivalents: number;
    if (isMig) {
      const known = devices?.byIndex.get(`${gpuIndex}:${migIndex}`);
      uuid = entry.uuid ?? known?.uuid ?? "";
      profile = entry.profile ?? known?.profile ?? "unknown";
      gpuEquivalents = migProfileEquivalents(profile) ?? 1 / MIG_SLICES_PER_GPU;
      migs.push({ gpu: gpuIndex, gpuInstanceId: String(entry.gpu_instance_id ?? migIndex), slot, uuid, profile });
    } else {
      uuid = gpus.get(gpuIndex)!.uuid;
      profile = "full";
      gpuEquivalents = 1;
    }
    for (const c of entry.containers) {
      const iface = (c.interface && INTERFACES.has(c.interface) ? c.interface : "other") as Ds01Interface;
      if (!containers.has(c.container)) containers.set(c.container, { name: c.container, user: c.user, interface: iface, status: c.status ?? "unknown" });
      allocations.push({ slot, uuid, profile, gpuEquivalents, container: c.container, user: c.user, interface: iface });
    }
  }
  // A state file drawn for MIG mode may list parent GPUs only through their instances.
  const gpuList = [...gpus.values()].map((g) => (migEnabled && migs.some((m) => m.gpu === g.index) ? { ...g, migEnabled: true } : g));
  return {
    gpus: gpuList,
    migDevices: migs,
    containers: [...containers.values()],
    allocations,
    unmanaged: [],
    migMapping: { mapped: migs.length, unmapped: 0 },
  };
}

function compareSlots(a: string, b: string): number {
  const [ag, am] = a.split(".").map(Number);
  const [bg, bm] = b.split(".").map(Number);
  return ag! - bg! || (am ?? -1) - (bm ?? -1);
}

export function createStateFileSource(opts: StateFileSourceOptions): StateFileSource {
  return new StateFileSource(opts);
}
