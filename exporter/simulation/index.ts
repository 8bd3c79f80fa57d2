import type { Source } from "../core/source";
import type { UserSliceUsage } from "../ds01/cgroup-source";
import type { GroupMembers } from "../ds01/groups-source";
import type { SessionCounts } from "../ds01/utmp-source";
import type { Ds01Snapshot } from "../ds01/model";
import type { DrmSnapshot } from "../drm/model";
import { renderDcgmMetrics, startDcgmEndpoint, type DcgmEndpoint } from "./dcgm";
import { SimulatedDrm } from "./drm";
import { effectiveGpu, SimulatedHost } from "./host";
import { OverridesFile, staticOverrides, type OverridesProvider, type SimulationOverrides } from "./overrides";
import { Random } from "./random";

export { OverridesFile, simulationOverridesSchema, staticOverrides, type SimulationOverrides } from "./overrides";
export type { DcgmEndpoint } from "./dcgm";

export const DEFAULT_SIMULATION_SEED = 42;
/** Simulated seconds per tick; the simulation runs in real time. */
const TICK_SECONDS = 1;
/** After a long pause (a suspended laptop), catch up at most this many ticks at once. */
const MAX_CATCH_UP_TICKS = 3_600;

export interface SimulationOptions {
  readonly seed?: number | string;
  /** An overrides file path (re-read when it changes) or a provider. */
  readonly overrides?: string | OverridesProvider;
  /** Clock in ms; tests pass their own to step the simulation deterministically. */
  readonly now?: () => number;
  /** Hostname label on the DCGM series. */
  readonly hostname?: string;
}

/**
 * A simulated GPU host (DS01 view and DCGM telemetry) and DRM coordinator, advancing in real
 * time from a seed: the same seed and the same number of elapsed ticks give the same state.
 * Every read (DS01 snapshot, DRM snapshot, DCGM page) first catches the simulation up to now
 * and picks up the overrides, so all three views always agree with each other.
 */
export class Simulation {
  readonly hostname: string;
  private readonly host: SimulatedHost;
  private readonly drm: SimulatedDrm;
  private readonly overrides: OverridesProvider;
  private readonly now: () => number;
  private readonly startedAt: number;
  private tick = 0;

  constructor(options: SimulationOptions = {}) {
    const root = new Random(options.seed ?? DEFAULT_SIMULATION_SEED);
    this.host = new SimulatedHost(root.fork("host"));
    this.drm = new SimulatedDrm(root.fork("drm"));
    this.overrides =
      typeof options.overrides === "string" ? new OverridesFile(options.overrides) : (options.overrides ?? staticOverrides());
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.hostname = options.hostname ?? "gpu-sim-01";
  }

  /** Ticks simulated so far. */
  get ticks(): number {
    return this.tick;
  }

  /** Catches up to the clock and returns the overrides in force. */
  advance(): SimulationOverrides {
    const o = this.overrides.current();
    const target = Math.floor((this.now() - this.startedAt) / (TICK_SECONDS * 1000));
    if (target - this.tick > MAX_CATCH_UP_TICKS) this.tick = target - MAX_CATCH_UP_TICKS;
    while (this.tick < target) {
      this.host.step(TICK_SECONDS, o);
      this.drm.step(TICK_SECONDS, o.drm, o.freeze === true);
      this.tick++;
    }
    this.host.applyImmediate(o);
    return o;
  }

  ds01Snapshot(): Ds01Snapshot {
    const o = this.advance();
    if (o.sources?.ds01 === "down") throw new Error("simulated DS01 source is down (overrides)");
    return this.host.snapshot(o);
  }

  drmSnapshot(): DrmSnapshot {
    const o = this.advance();
    if (o.sources?.drm === "down") throw new Error("simulated DRM coordinator is down (overrides)");
    return this.drm.view(o.drm);
  }

  /** The DCGM-compatible page, or undefined while DCGM is overridden down. */
  dcgmPage(): string | undefined {
    const o = this.advance();
    if (o.sources?.dcgm === "down") return undefined;
    return renderDcgmMetrics({
      hostname: this.hostname,
      gpus: this.host.gpus.map((g) => effectiveGpu(g, o.gpus?.[g.index])),
      slots: this.host.slots,
    });
  }

  /** Feeds the DS01 collector; `source` label "simulation". */
  ds01Source(): Source<Ds01Snapshot> {
    return { name: "simulation", read: async () => this.ds01Snapshot(), close: async () => {} };
  }

  /** Login sessions; `source` label "utmp", as the utmp file's. */
  sessionsSource(): Source<SessionCounts> {
    return { name: "utmp", read: async () => this.ds01View((host) => host.sessions()), close: async () => {} };
  }

  /** DS01's group files; `source` label "groups". */
  groupsSource(): Source<GroupMembers> {
    return { name: "groups", read: async () => this.ds01View((host) => host.groups()), close: async () => {} };
  }

  /** cgroup v2 user slices; `source` label "cgroup". */
  cgroupSource(): Source<readonly UserSliceUsage[]> {
    return { name: "cgroup", read: async () => this.ds01View((host) => host.userSlices()), close: async () => {} };
  }

  /** A view of the simulated DS01 host, caught up to now; fails while DS01 is overridden down. */
  private ds01View<T>(view: (host: SimulatedHost) => T): T {
    const o = this.advance();
    if (o.sources?.ds01 === "down") throw new Error("simulated DS01 source is down (overrides)");
    return view(this.host);
  }

  /** Feeds the DRM collector; `source` label "drm", as a real coordinator's. */
  drmSource(): Source<DrmSnapshot> {
    return { name: "drm", read: async () => this.drmSnapshot(), close: async () => {} };
  }

  /** Serves the DCGM-compatible /metrics on its own port (0 picks a free one). */
  startDcgm(port: number, bind?: string): Promise<DcgmEndpoint> {
    return startDcgmEndpoint(() => this.dcgmPage(), port, bind);
  }
}
