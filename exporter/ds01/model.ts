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

export interface UnmanagedGpuUse {
  readonly total: number;
  readonly running: number;
  readonly allAccess: number;
}

export interface Ds01Snapshot {
  readonly gpus: readonly GpuDevice[];
  readonly migDevices: readonly MigDevice[];
  readonly containers: readonly Ds01Container[];
  readonly allocations: readonly Allocation[];
  readonly unmanaged: UnmanagedGpuUse;
  /** False when a container holds a MIG UUID that maps to no known slot. */
  readonly migMappingOk: boolean;
}
