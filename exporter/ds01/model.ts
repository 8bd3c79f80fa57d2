/**
 * What the DS01 collector publishes, independent of where it was read from (Docker engine,
 * gpu-state file, or simulation). Every DS01 source produces a Ds01Snapshot.
 */
export type Ds01Interface = "orchestration" | "atomic" | "api" | "other" | "docker";

export interface GpuDevice {
  /** Physical GPU index as DCGM's `gpu` label has it ("0".."7"). */
  readonly index: string;
  readonly uuid: string;
  readonly model: string;
  readonly migEnabled: boolean;
}

export interface MigDevice {
  /** Parent GPU index. */
  readonly gpu: string;
  /** DCGM's GPU_I_ID of the instance. */
  readonly gpuInstanceId: string;
  /** DS01 slot "<gpu>.<mig device index>". */
  readonly slot: string;
  readonly uuid: string;
  /** MIG profile such as "1g.10gb". */
  readonly profile: string;
}

export interface Ds01Container {
  readonly name: string;
  readonly user: string;
  readonly interface: Ds01Interface;
  /** Docker state: running, exited, created, paused, restarting, dead. */
  readonly status: string;
}

export interface Allocation {
  /** "0" for a full GPU, "1.0" for a MIG instance. */
  readonly slot: string;
  readonly uuid: string;
  /** "full" for a full GPU, else the MIG profile. */
  readonly profile: string;
  /** 1 for a full GPU, N/7 for an Ng.* MIG profile. */
  readonly gpuEquivalents: number;
  readonly container: string;
  readonly user: string;
  readonly interface: Ds01Interface;
}

/** How a container DS01 does not manage asked for GPUs: `--gpus all`, `--gpus N`, or `--gpus device=...`. */
export type GpuAccessType = "all" | "count" | "specific";

export interface UnmanagedGpuContainer {
  readonly name: string;
  /** From the dev container folder or compose working directory under /home/<user>, else "unknown". */
  readonly user: string;
  /** "ALL" for `--gpus all`, else the number of GPUs asked for. */
  readonly gpuCount: string;
  readonly accessType: GpuAccessType;
  readonly running: boolean;
}

/** DS01's accounting of a MIG layout against DCGM: devices matched to a GPU_I_ID, and device IDs that match nothing. */
export interface MigMapping {
  readonly mapped: number;
  readonly unmapped: number;
}

export interface Ds01Snapshot {
  readonly gpus: readonly GpuDevice[];
  readonly migDevices: readonly MigDevice[];
  readonly containers: readonly Ds01Container[];
  readonly allocations: readonly Allocation[];
  /** GPU containers DS01 does not manage. */
  readonly unmanaged: readonly UnmanagedGpuContainer[];
  /** `unmapped` counts device IDs held by containers that map to no known slot (a reconfigured GPU, a stale map). */
  readonly migMapping: MigMapping;
}
