import { promises as fs } from "node:fs";
import { parseJsonNamed } from "../core/json-shape";
import { readRegularFile } from "../core/regular-file";
import * as z from "../core/zod";
import type { GpuDevice, MigDevice } from "./model";

/**
 * The host's GPUs and MIG instances keyed by UUID, so device IDs found in Docker device
 * requests can be turned into DS01 slots. On a GPU host it is the output of `nvidia-smi -L`
 * saved to a file; a JSON form exists for hosts that also want DCGM's GPU_I_ID in it.
 */
export interface DeviceMap {
  readonly gpus: readonly GpuDevice[];
  readonly migDevices: readonly MigDevice[];
  readonly byUuid: ReadonlyMap<string, DeviceEntry>;
  /** Docker also accepts indices (`0`) and `<gpu>:<mig device>` (`1:0`) as device IDs. */
  readonly byIndex: ReadonlyMap<string, DeviceEntry>;
}

export interface DeviceEntry {
  readonly slot: string;
  readonly uuid: string;
  readonly profile: string;
  readonly gpuEquivalents: number;
}

/** Compute slices per GPU on A100/H100; a `<N>g.*` MIG profile is N of them. */
export const MIG_SLICES_PER_GPU = 7;

/** GPU-equivalents of a MIG profile such as `3g.20gb` (3/7) or `1c.3g.20gb`; undefined if unknown. */
export function migProfileEquivalents(profile: string): number | undefined {
  const match = /(?:^|\.)(\d+)g\.\d+gb/.exec(profile);
  if (!match) return undefined;
  const slices = Number(match[1]);
  if (!Number.isFinite(slices) || slices < 1 || slices > MIG_SLICES_PER_GPU) return undefined;
  return slices / MIG_SLICES_PER_GPU;
}

export const EMPTY_DEVICE_MAP: DeviceMap = buildDeviceMap([], []);

/** Where a source gets its device map: a file, or `nvidia-smi -L` run by the exporter. */
export interface DeviceMapSource {
  /** The current map; a source that cannot produce one may throw (a file) or keep the last (nvidia-smi). */
  load(): Promise<DeviceMap>;
  /** Called when a device ID is missing from the map just loaded; may return a fresher map. */
  unknownDevice?(): Promise<DeviceMap>;
}

export function buildDeviceMap(gpus: readonly GpuDevice[], migDevices: readonly MigDevice[]): DeviceMap {
  const byUuid = new Map<string, DeviceEntry>();
  const byIndex = new Map<string, DeviceEntry>();
  for (const gpu of gpus) {
    const entry: DeviceEntry = { slot: gpu.index, uuid: gpu.uuid, profile: "full", gpuEquivalents: 1 };
    if (gpu.uuid) byUuid.set(gpu.uuid, entry);
    byIndex.set(gpu.index, entry);
  }
  for (const mig of migDevices) {
    const entry: DeviceEntry = {
      slot: mig.slot,
      uuid: mig.uuid,
      profile: mig.profile,
      gpuEquivalents: migProfileEquivalents(mig.profile) ?? 1 / MIG_SLICES_PER_GPU,
    };
    if (mig.uuid) byUuid.set(mig.uuid, entry);
    byIndex.set(mig.slot.replace(".", ":"), entry);
  }
  return { gpus, migDevices, byUuid, byIndex };
}

const GPU_LINE = /^GPU\s+(\d+):\s+(.*?)\s+\(UUID:\s*(GPU-[^)\s]+)\)\s*$/;
const MIG_LINE = /^\s+MIG\s+(\S+)\s+Device\s+(\d+):\s+\(UUID:\s*(MIG-[^)\s]+)\)\s*$/;

/**
 * Parses `nvidia-smi -L`. That output has no GPU instance ID, so DCGM's GPU_I_ID is taken to be
 * the MIG device index; use the JSON form where the two differ.
 */
export function parseNvidiaSmiList(text: string): DeviceMap {
  const gpus: GpuDevice[] = [];
  const migs: MigDevice[] = [];
  let current: { index: string; uuid: string; model: string; migs: MigDevice[] } | undefined;
  const flush = (): void => {
    if (!current) return;
    gpus.push({ index: current.index, uuid: current.uuid, model: current.model, migEnabled: current.migs.length > 0 });
    migs.push(...current.migs);
  };
  for (const line of text.split(/\r?\n/)) {
    const gpu = GPU_LINE.exec(line);
    if (gpu) {
      flush();
      current = { index: gpu[1]!, model: gpu[2]!, uuid: gpu[3]!, migs: [] };
      continue;
    }
    const mig = MIG_LINE.exec(line);
    if (mig && current) {
      current.migs.push({ gpu: current.index, gpuInstanceId: mig[2]!, slot: `${current.index}.${mig[2]!}`, uuid: mig[3]!, profile: mig[1]! });
    }
  }
  flush();
  return buildDeviceMap(gpus, migs);
}

const indexSchema = z.union([z.string(), z.int().check(z.nonnegative())]);

const jsonDeviceMapSchema = z.object({
  gpus: z.array(
    z.object({
      index: indexSchema,
      uuid: z.string(),
      model: z._default(z.string(), ""),
      mig_enabled: z.optional(z.boolean()),
      migs: z._default(
        z.array(
          z.object({
            device: indexSchema,
            uuid: z.string(),
            profile: z.string(),
            gpu_instance_id: z.optional(indexSchema),
          }),
        ),
        [],
      ),
    }),
  ),
});

/**
 * JSON form: `{"gpus":[{"index":0,"uuid":"GPU-..","model":"..","migs":[{"device":0,"uuid":"MIG-..",
 * "profile":"1g.10gb","gpu_instance_id":7}]}]}`.
 */
export function parseJsonDeviceMap(text: string): DeviceMap {
  const parsed = jsonDeviceMapSchema.parse(parseJsonNamed(text, "device map"));
  const gpus: GpuDevice[] = [];
  const migs: MigDevice[] = [];
  for (const gpu of parsed.gpus) {
    const index = String(gpu.index);
    gpus.push({ index, uuid: gpu.uuid, model: gpu.model, migEnabled: gpu.mig_enabled ?? gpu.migs.length > 0 });
    for (const mig of gpu.migs) {
      const device = String(mig.device);
      migs.push({ gpu: index, gpuInstanceId: String(mig.gpu_instance_id ?? device), slot: `${index}.${device}`, uuid: mig.uuid, profile: mig.profile });
    }
  }
  return buildDeviceMap(gpus, migs);
}

/** Either form, told apart by the first non-blank character. */
export function parseDeviceMap(text: string): DeviceMap {
  return text.trimStart().startsWith("{") ? parseJsonDeviceMap(text) : parseNvidiaSmiList(text);
}

/** A device map file, re-parsed only when its mtime or size changes. */
export class DeviceMapFile implements DeviceMapSource {
  private key = "";
  private map: DeviceMap = EMPTY_DEVICE_MAP;

  constructor(
    private readonly path: string,
    private readonly maxBytes = 1024 * 1024,
  ) {}

  /** The current map; throws if the file cannot be read or parsed. */
  async load(): Promise<DeviceMap> {
    const stat = await fs.stat(this.path);
    const key = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    if (key === this.key) return this.map;
    this.map = parseDeviceMap((await readRegularFile(this.path, `device map ${this.path}`, this.maxBytes)).toString("utf8"));
    this.key = key;
    return this.map;
  }
}
