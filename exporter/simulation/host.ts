import type { UserSliceUsage } from "../ds01/cgroup-source";
import type { GroupMembers } from "../ds01/groups-source";
import type { Allocation, Ds01Container, Ds01Interface, Ds01Snapshot, GpuDevice, MigDevice, UnmanagedGpuContainer } from "../ds01/model";
import { sanitizeSliceUser } from "../ds01/slice-name";
import type { SessionCounts } from "../ds01/utmp-source";
import type { GpuOverride, SimulationOverrides, SlotOverride } from "./overrides";
import { clamp, type Random } from "./random";

export const GPU_MODEL = "NVIDIA A100-SXM4-80GB";
const GPU_MEMORY_MIB = 81920;
const GPU_RESERVED_MIB = 579;
const TDP_WATTS = 400;
const IDLE_WATTS = 62;

/** Two GPUs in MIG mode, each split into 7 compute slices' worth of instances. */
const MIG_LAYOUT: Record<string, ReadonlyArray<{ profile: string; gpuInstanceId: string; memoryMiB: number }>> = {
  "2": [
    { profile: "3g.40gb", gpuInstanceId: "2", memoryMiB: 40192 },
    { profile: "2g.20gb", gpuInstanceId: "3", memoryMiB: 19968 },
    { profile: "1g.10gb", gpuInstanceId: "9", memoryMiB: 9856 },
    { profile: "1g.10gb", gpuInstanceId: "10", memoryMiB: 9856 },
  ],
  "3": [
    { profile: "2g.20gb", gpuInstanceId: "3", memoryMiB: 19968 },
    { profile: "2g.20gb", gpuInstanceId: "4", memoryMiB: 19968 },
    { profile: "2g.20gb", gpuInstanceId: "5", memoryMiB: 19968 },
    { profile: "1g.10gb", gpuInstanceId: "13", memoryMiB: 9856 },
  ],
};
const GPU_COUNT = 8;

const USERS: ReadonlyArray<{ name: string; uid: number }> = [
  { name: "alice", uid: 1001 },
  { name: "bob", uid: 1002 },
  { name: "chen", uid: 1003 },
  { name: "dana", uid: 1004 },
  { name: "eve", uid: 1005 },
  { name: "farid", uid: 1006 },
  { name: "grace", uid: 1007 },
];
/** DS01's groups (its `<group>.members` files); every simulated user is in exactly one. */
const GROUPS: ReadonlyArray<{ group: string; members: readonly string[] }> = [
  { group: "students", members: ["alice", "bob", "chen", "dana"] },
  { group: "researchers", members: ["eve", "farid"] },
  { group: "faculty", members: ["grace"] },
];
/** CPU cores a container keeps busy while it works, and while it waits. */
const BUSY_CORES = 6;
const IDLE_CORES = 0.2;
const BUSY_MEMORY_BYTES = 24 * 2 ** 30;
const IDLE_MEMORY_BYTES = 3 * 2 ** 30;
/** With no `unmanaged` override the host has this one GPU container DS01 does not manage (a user's compose project). */
const DEFAULT_UNMANAGED: UnmanagedGpuUseOverride = { total: 1, running: 1, allAccess: 0 };
interface UnmanagedGpuUseOverride {
  readonly total: number;
  readonly running: number;
  readonly allAccess: number;
}
const PROJECTS = ["thesis", "llm-finetune", "vision", "rl-agent", "notebook", "protein-fold", "speech"];

/** XID codes the simulation may raise, with the messages dcgm-exporter attaches. */
export const XID_MESSAGES: Record<number, string> = {
  0: "No Error",
  13: "Graphics Engine Exception",
  31: "GPU memory page fault",
  43: "GPU stopped processing",
  48: "Double Bit ECC Error",
  63: "ECC page retirement or row remapping recording event",
  79: "GPU has fallen off the bus",
  94: "Contained ECC error",
};

/** One allocatable unit: a full GPU or a MIG instance. */
export interface SlotState {
  readonly slot: string;
  readonly gpu: string;
  readonly uuid: string;
  /** "full" or the MIG profile. */
  readonly profile: string;
  readonly gpuInstanceId: string | undefined;
  /** Compute share of the parent GPU (1 for a full GPU, N/7 for a MIG instance). */
  readonly share: number;
  readonly memoryMiB: number;
  holder: string | undefined;
  /** Utilisation in percent, smoothed. */
  util: number;
  memoryUsedMiB: number;
}

export interface GpuState {
  readonly index: string;
  readonly uuid: string;
  readonly migEnabled: boolean;
  readonly pciBusId: string;
  /** Small per-card offset: no two cards run at quite the same temperature. */
  readonly thermalOffset: number;
  temperature: number;
  power: number;
  energyMj: number;
  /** Utilisation of the whole card in percent (MIG: share-weighted). */
  util: number;
  xid: number;
  pcieReplays: number;
  /** Volatile ECC error counts since the driver loaded; a healthy card stays at zero. */
  eccSingleBit: number;
  eccDoubleBit: number;
  /** Time held back by thermal and power limits since the driver loaded, in ns (DCGM's unit). */
  thermalViolationNs: number;
  powerViolationNs: number;
  pcieTxBytesPerSec: number;
  pcieRxBytesPerSec: number;
}

interface ContainerState {
  readonly id: number;
  readonly name: string;
  readonly user: string;
  readonly interface: Ds01Interface;
  status: "created" | "running" | "exited" | "paused";
  slots: string[];
  busy: boolean;
  /** Containers that mostly sit on their GPU without using it. */
  readonly idler: boolean;
  ticksInState: number;
  /** Ticks of work left before the container exits. */
  lifetime: number;
  pinned: boolean;
}

/**
 * The simulated DS01 GPU host: 8 A100s, GPUs 2 and 3 in MIG mode, users whose containers come
 * and go, hold full GPUs or MIG slices, work and idle. Telemetry follows the work: an idle
 * allocated slot reads ~0 %, temperature and power lag utilisation.
 */
export class SimulatedHost {
  readonly gpus: GpuState[] = [];
  readonly slots: SlotState[] = [];
  private readonly containers = new Map<number, ContainerState>();
  /** Cumulative CPU seconds of each user's DS01 slice. */
  private readonly cpuSeconds = new Map<string, number>(USERS.map((u) => [u.name, 0]));
  private nextContainerId = 1;
  private readonly rng: Random;

  constructor(rng: Random) {
    this.rng = rng;
    for (let i = 0; i < GPU_COUNT; i++) {
      const index = String(i);
      const layout = MIG_LAYOUT[index];
      const gpu: GpuState = {
        index,
        uuid: `GPU-${rng.uuid()}`,
        migEnabled: layout !== undefined,
        pciBusId: `00000000:${(0x07 + i * 0x10).toString(16).toUpperCase().padStart(2, "0")}:00.0`,
        thermalOffset: rng.range(-2, 3),
        temperature: 31 + rng.range(0, 3),
        power: IDLE_WATTS,
        energyMj: Math.round(rng.range(1e9, 5e9)),
        util: 0,
        xid: 0,
        pcieReplays: 0,
        eccSingleBit: 0,
        eccDoubleBit: 0,
        thermalViolationNs: 0,
        powerViolationNs: 0,
        pcieTxBytesPerSec: 0,
        pcieRxBytesPerSec: 0,
      };
      this.gpus.push(gpu);
      if (layout) {
        layout.forEach((inst, j) =>
          this.slots.push({
            slot: `${index}.${j}`,
            gpu: index,
            uuid: `MIG-${rng.uuid()}`,
            profile: inst.profile,
            gpuInstanceId: inst.gpuInstanceId,
            share: migSlices(inst.profile) / 7,
            memoryMiB: inst.memoryMiB,
            holder: undefined,
            util: 0,
            memoryUsedMiB: 0,
          }),
        );
      } else {
        this.slots.push({
          slot: index,
          gpu: index,
          uuid: gpu.uuid,
          profile: "full",
          gpuInstanceId: undefined,
          share: 1,
          memoryMiB: GPU_MEMORY_MIB - GPU_RESERVED_MIB,
          holder: undefined,
          util: 0,
          memoryUsedMiB: 0,
        });
      }
    }
    // Start from a busy-looking host rather than an empty one.
    for (let i = 0; i < 9; i++) this.launch();
    for (const c of this.containers.values()) {
      c.status = "running";
      c.ticksInState = this.rng.int(0, 600);
    }
  }

  slot(name: string): SlotState | undefined {
    return this.slots.find((s) => s.slot === name);
  }

  gpu(index: string): GpuState | undefined {
    return this.gpus.find((g) => g.index === index);
  }

  /** Advances one tick of `dt` seconds. */
  step(dt: number, overrides: SimulationOverrides): void {
    this.applyPins(overrides.slots ?? {});
    if (!overrides.freeze) {
      this.lifecycle();
      // Arrivals keep roughly two thirds of the slots busy.
      const free = this.slots.filter((s) => !s.holder).length;
      if (free > 0 && this.rng.chance((0.02 * free) / this.slots.length)) this.launch();
    }
    this.telemetry(dt, overrides);
  }

  /** The slot's utilisation target this tick, before smoothing. */
  private targetUtil(slot: SlotState): number {
    const c = slot.holder ? this.containerByName(slot.holder) : undefined;
    if (!c || c.status !== "running" || !c.busy) return clamp(this.rng.range(0, 0.8), 0, 100);
    return clamp(82 + 10 * this.rng.normal(), 35, 100);
  }

  private telemetry(dt: number, overrides: SimulationOverrides): void {
    if (!overrides.freeze) {
      for (const c of this.containers.values()) {
        if (c.status !== "running") continue;
        this.cpuSeconds.set(c.user, (this.cpuSeconds.get(c.user) ?? 0) + dt * (c.busy ? BUSY_CORES : IDLE_CORES));
      }
    }
    const slotOverrides = overrides.slots ?? {};
    for (const s of this.slots) {
      const o: SlotOverride | undefined = slotOverrides[s.slot];
      if (o?.utilization !== undefined) s.util = o.utilization;
      else if (!overrides.freeze) s.util += (this.targetUtil(s) - s.util) * 0.6;
      const c = s.holder ? this.containerByName(s.holder) : undefined;
      let memoryFraction = 0;
      if (c) memoryFraction = c.busy && c.status === "running" ? 0.55 + 0.3 * (s.util / 100) : c.status === "exited" ? 0 : 0.35;
      if (o?.memoryUsedPercent !== undefined) memoryFraction = o.memoryUsedPercent / 100;
      s.memoryUsedMiB = Math.round(s.memoryMiB * clamp(memoryFraction, 0, 1));
    }
    for (const g of this.gpus) {
      const own = this.slots.filter((s) => s.gpu === g.index);
      g.util = own.reduce((sum, s) => sum + s.util * s.share, 0);
      const o = overrides.gpus?.[g.index];
      if (!overrides.freeze) {
        const targetTemp = 33 + g.thermalOffset + 0.47 * g.util;
        g.temperature += (targetTemp - g.temperature) * (1 - Math.exp(-dt / 40)) + 0.15 * this.rng.normal();
        g.power = clamp(IDLE_WATTS + (TDP_WATTS - IDLE_WATTS) * (g.util / 100) + 4 * this.rng.normal(), 50, TDP_WATTS + 20);
        g.pcieTxBytesPerSec = Math.round(g.util * 2.1e7 * (0.8 + 0.4 * this.rng.next()));
        g.pcieRxBytesPerSec = Math.round(g.util * 3.4e7 * (0.8 + 0.4 * this.rng.next()));
        if (this.rng.chance(2e-6 * dt)) g.pcieReplays += 1;
        if (this.rng.chance(5e-6 * dt)) g.xid = this.rng.pick([13, 31, 43, 63, 94]);
      }
      const shown = effectiveGpu(g, o);
      g.energyMj += Math.round(shown.power * dt * 1000);
      if (shown.temperature >= 85) g.thermalViolationNs += Math.round(dt * 1e9 * 0.3);
      if (shown.power >= TDP_WATTS - 5) g.powerViolationNs += Math.round(dt * 1e9 * 0.2);
    }
  }

  private lifecycle(): void {
    for (const c of [...this.containers.values()]) {
      c.ticksInState++;
      switch (c.status) {
        case "created":
          if (c.ticksInState >= 3) this.setStatus(c, "running");
          break;
        case "running":
          if (c.pinned) break;
          c.lifetime--;
          // Busy/idle phases: minutes of work, shorter pauses; idlers mostly pause.
          if (c.busy && this.rng.chance(c.idler ? 1 / 30 : 1 / 240)) c.busy = false;
          else if (!c.busy && this.rng.chance(c.idler ? 1 / 900 : 1 / 60)) c.busy = true;
          if (this.rng.chance(1 / 20000)) this.setStatus(c, "paused");
          else if (c.lifetime <= 0) this.setStatus(c, "exited");
          break;
        case "paused":
          if (c.ticksInState >= 120) this.setStatus(c, "running");
          break;
        case "exited":
          // DS01 keeps a stopped container's GPUs for a while before its cleanup removes it.
          if (!c.pinned && c.ticksInState >= 300) this.remove(c);
          break;
      }
    }
  }

  private setStatus(c: ContainerState, status: ContainerState["status"]): void {
    c.status = status;
    c.ticksInState = 0;
  }

  private remove(c: ContainerState): void {
    for (const s of this.slots) if (s.holder === c.name) s.holder = undefined;
    this.containers.delete(c.id);
  }

  private launch(user = this.rng.pick(USERS).name, wanted?: SlotState): ContainerState | undefined {
    const free = this.slots.filter((s) => !s.holder);
    if (free.length === 0) return undefined;
    let chosen: SlotState[];
    if (wanted) chosen = [wanted];
    else {
      const first = this.rng.pick(free);
      chosen = [first];
      // Now and then a job wants two full GPUs.
      if (first.profile === "full" && this.rng.chance(0.15)) {
        const second = free.find((s) => s !== first && s.profile === "full");
        if (second) chosen.push(second);
      }
    }
    const uid = USERS.find((u) => u.name === user)?.uid ?? 2000;
    const id = this.nextContainerId++;
    const iface = this.rng.pick<Ds01Interface>(["orchestration", "orchestration", "orchestration", "atomic", "atomic", "api", "other"]);
    const c: ContainerState = {
      id,
      name: `${this.rng.pick(PROJECTS)}-${id}._.${uid}`,
      user,
      interface: iface,
      status: "created",
      slots: chosen.map((s) => s.slot),
      busy: true,
      idler: this.rng.chance(0.2),
      ticksInState: 0,
      lifetime: Math.round(300 + 1500 * -Math.log(1 - this.rng.next())),
      pinned: false,
    };
    for (const s of chosen) s.holder = c.name;
    this.containers.set(id, c);
    return c;
  }

  /** Applies slot overrides at once, so a changed overrides file shows before the next tick. */
  applyImmediate(overrides: SimulationOverrides): void {
    const slotOverrides = overrides.slots ?? {};
    this.applyPins(slotOverrides);
    for (const [name, o] of Object.entries(slotOverrides)) {
      const s = this.slot(name);
      if (!s) continue;
      if (o.utilization !== undefined) s.util = o.utilization;
      if (o.memoryUsedPercent !== undefined) s.memoryUsedMiB = Math.round((s.memoryMiB * o.memoryUsedPercent) / 100);
    }
  }

  /** Slots with a `user` override stay allocated (to that user if the slot was free). */
  private applyPins(slotOverrides: Record<string, SlotOverride>): void {
    for (const c of this.containers.values()) c.pinned = false;
    for (const [name, o] of Object.entries(slotOverrides)) {
      if (!o.user) continue;
      const s = this.slot(name);
      if (!s) continue;
      let c = s.holder ? this.containerByName(s.holder) : undefined;
      if (!c) {
        c = this.launch(o.user, s);
        if (c) this.setStatus(c, "running");
      }
      if (c) {
        c.pinned = true;
        if (c.status !== "running") this.setStatus(c, "running");
      }
    }
  }

  private containerByName(name: string): ContainerState | undefined {
    for (const c of this.containers.values()) if (c.name === name) return c;
    return undefined;
  }

  /** The host as DS01 sees it. */
  snapshot(overrides: SimulationOverrides): Ds01Snapshot {
    const gpus: GpuDevice[] = this.gpus.map((g) => ({ index: g.index, uuid: g.uuid, model: GPU_MODEL, migEnabled: g.migEnabled }));
    const migDevices: MigDevice[] = this.slots
      .filter((s) => s.gpuInstanceId !== undefined)
      .map((s) => ({ gpu: s.gpu, gpuInstanceId: s.gpuInstanceId!, slot: s.slot, uuid: s.uuid, profile: s.profile }));
    const list = [...this.containers.values()].sort((a, b) => a.id - b.id);
    const containers: Ds01Container[] = list.map((c) => ({ name: c.name, user: c.user, interface: c.interface, status: c.status }));
    const allocations: Allocation[] = [];
    for (const c of list) {
      for (const name of c.slots) {
        const s = this.slot(name)!;
        allocations.push({
          slot: s.slot,
          uuid: s.uuid,
          profile: s.profile,
          gpuEquivalents: s.share,
          container: c.name,
          user: c.user,
          interface: c.interface,
        });
      }
    }
    return {
      gpus,
      migDevices,
      containers,
      allocations,
      unmanaged: unmanagedContainers(overrides.unmanaged ?? DEFAULT_UNMANAGED),
      migMapping: { mapped: migDevices.length, unmapped: 0 },
    };
  }

  /** Login sessions: one for each user with a running container. */
  sessions(): SessionCounts {
    const counts = new Map<string, number>();
    for (const c of this.containers.values()) if (c.status === "running") counts.set(c.user, 1);
    return counts;
  }

  groups(): GroupMembers {
    return new Map(GROUPS.map((g) => [g.group, g.members]));
  }

  /** Each user's slice, named as DS01 names it; memory follows the user's running containers. */
  userSlices(): UserSliceUsage[] {
    const memory = new Map<string, number>();
    for (const c of this.containers.values()) {
      if (c.status === "running") memory.set(c.user, (memory.get(c.user) ?? 0) + (c.busy ? BUSY_MEMORY_BYTES : IDLE_MEMORY_BYTES));
    }
    return GROUPS.flatMap(({ group, members }) =>
      members.map((user) => ({
        group,
        sliceUser: sanitizeSliceUser(user),
        cpuSeconds: Math.round((this.cpuSeconds.get(user) ?? 0) * 1e6) / 1e6,
        memoryBytes: memory.get(user) ?? 0,
      })),
    );
  }
}

/** Unmanaged containers matching the counts: the first `running` run, the first `allAccess` hold every GPU. */
function unmanagedContainers(use: UnmanagedGpuUseOverride): UnmanagedGpuContainer[] {
  return Array.from({ length: use.total }, (_, i) => ({
    name: `compose-gpu-job-${i + 1}`,
    user: i === 0 ? "grace" : "unknown",
    gpuCount: i < use.allAccess ? "ALL" : "1",
    accessType: i < use.allAccess ? "all" : "count",
    running: i < use.running,
  }));
}

/**
 * A GPU as reported: the card's own evolving state with any GPU override laid on top. Kept
 * apart from the state so removing an override restores the natural value at once.
 */
export function effectiveGpu(g: GpuState, o: GpuOverride | undefined): GpuState {
  if (!o) return g;
  return {
    ...g,
    temperature: o.temperature ?? g.temperature,
    power: o.powerWatts ?? g.power,
    xid: o.xid ?? g.xid,
  };
}

/** Compute slices of a MIG profile: "3g.40gb" -> 3. */
export function migSlices(profile: string): number {
  const m = /^(\d+)g\./.exec(profile);
  return m ? Number(m[1]) : 7;
}
