import { Gauge, type Registry } from "prom-client";
import { ds01 } from "../../metrics";
import type { MetricDef } from "../../metrics/define";
import type { Collector } from "../core/collector";
import type { Source } from "../core/source";
import { sourceTracker, type SourceTracker } from "../core/tracker";
import type { UserSliceUsage } from "./cgroup-source";
import type { EventCounts } from "./events-log";
import type { GroupMembers } from "./groups-source";
import { lifecycleCounts } from "./lifecycle";
import type { Ds01Snapshot } from "./model";
import { SeriesGauge } from "./series-gauge";
import { sliceUserNames } from "./slice-name";
import type { StateDirUsage } from "./state-dir-source";
import type { SessionCounts } from "./utmp-source";

export interface Ds01CollectorOptions {
  /** Allocations: the Docker source, the state-file source, or the simulation. */
  readonly snapshot?: Source<Ds01Snapshot>;
  /** ds01_events_24h_total and ds01_lifecycle_events_total. */
  readonly events?: Source<EventCounts>;
  /** ds01_ssh_sessions_*: the utmp file, or the simulation. */
  readonly sessions?: Source<SessionCounts>;
  /** ds01_user_group_info, ds01_group_members_total; also maps slice names back to user names. */
  readonly groups?: Source<GroupMembers>;
  /** ds01_user_cpu_usage_seconds_total, ds01_user_memory_current_bytes: cgroup v2 user slices. */
  readonly cgroups?: Source<readonly UserSliceUsage[]>;
  /** ds01_state_disk_bytes. */
  readonly stateDir?: Source<StateDirUsage>;
  /** Health of the device map the snapshot source uses (nvidia-smi), read only for ds01_exporter_source_*. */
  readonly deviceMap?: Source<unknown>;
  /** ds01_exporter_info's `version`. */
  readonly version: string;
  /** ds01_exporter_info's `type`; default the snapshot source's name (docker, state_file, simulation). */
  readonly infoType?: string;
  /** Each source read is bounded by this; a slower one counts as failed. Default 2000. */
  readonly sourceTimeoutMs?: number;
}

function gauge<N extends string, L extends string>(def: MetricDef<N, L>): Gauge<L> {
  return new Gauge<L>({ name: def.name, help: def.help, labelNames: def.labels, registers: [] });
}

function seriesGauge<N extends string, L extends string>(def: MetricDef<N, L>): SeriesGauge<L> {
  const exposedAs = def.type === "counter" ? "counter" : "gauge";
  return new SeriesGauge<L>({ name: def.name, help: def.help, labelNames: def.labels, registers: [], exposedAs });
}

/** One series per key of a count map. */
function perKey<L extends string>(label: L, counts: Iterable<readonly [string, number]>): Array<{ labels: Record<L, string>; value: number }> {
  return [...counts].map(([key, value]) => ({ labels: { [label]: key } as Record<L, string>, value }));
}

type LabelsOf<K extends keyof typeof ds01> = (typeof ds01)[K]["labels"][number];

/** Series keyed by their label values; setting the same labels twice keeps the last value, as Gauge.set does. */
class SeriesSet<L extends string> {
  private readonly byKey = new Map<string, { labels: Record<L, string>; value: number }>();
  set(labels: Record<L, string>, value: number): void {
    this.byKey.set(Object.values(labels).join("\u0000"), { labels, value });
  }
  series(): Array<{ labels: Record<L, string>; value: number }> {
    return [...this.byKey.values()];
  }
}

/**
 * Publishes every ds01_* metric of the catalog from DS01's sources. Before each scrape it reads
 * them through the registry's SourceTracker: a source that fails or times out is reported down
 * and its last good values stay published. Gauges are rebuilt only when a source hands back a
 * new value, and always in one synchronous step, so a concurrent scrape never sees half an update.
 */
export class Ds01Collector implements Collector {
  readonly name = "ds01";
  private readonly gauges: {
    ds01_gpu_allocated: SeriesGauge<LabelsOf<"ds01_gpu_allocated">>;
    ds01_gpu_equivalents: SeriesGauge<LabelsOf<"ds01_gpu_equivalents">>;
    ds01_gpu_slot_info: SeriesGauge<LabelsOf<"ds01_gpu_slot_info">>;
    ds01_mig_slot_info: SeriesGauge<LabelsOf<"ds01_mig_slot_info">>;
    ds01_mig_mapping_status: SeriesGauge<LabelsOf<"ds01_mig_mapping_status">>;
    ds01_containers_total: SeriesGauge<LabelsOf<"ds01_containers_total">>;
    ds01_user_gpus_allocated: SeriesGauge<"user">;
    ds01_user_mig_allocated: SeriesGauge<"user">;
    ds01_user_gpu_equivalents: SeriesGauge<"user">;
    ds01_user_containers_count: SeriesGauge<"user">;
    ds01_unmanaged_gpu_count: Gauge;
    ds01_unmanaged_gpu_running: Gauge;
    ds01_unmanaged_gpu_all_access: Gauge;
    ds01_unmanaged_gpu_container: SeriesGauge<LabelsOf<"ds01_unmanaged_gpu_container">>;
    ds01_events_24h_total: Gauge<"event_type">;
    ds01_lifecycle_events_total: SeriesGauge<"action">;
    ds01_ssh_sessions_active: SeriesGauge<"user">;
    ds01_ssh_sessions_total: Gauge;
    ds01_user_group_info: SeriesGauge<LabelsOf<"ds01_user_group_info">>;
    ds01_group_members_total: SeriesGauge<"group">;
    ds01_user_cpu_usage_seconds_total: SeriesGauge<LabelsOf<"ds01_user_cpu_usage_seconds_total">>;
    ds01_user_memory_current_bytes: SeriesGauge<LabelsOf<"ds01_user_memory_current_bytes">>;
    ds01_state_disk_bytes: Gauge<"type">;
    ds01_exporter_info: Gauge<LabelsOf<"ds01_exporter_info">>;
  };
  private tracker: SourceTracker | undefined;
  private readonly timeoutMs: number;
  private refreshing: Promise<void> | undefined;
  private shownSnapshot: Ds01Snapshot | undefined;
  private shownEvents: EventCounts | undefined;
  private shownDisk: StateDirUsage | undefined;
  private shownSessions: SessionCounts | undefined;
  private shownGroups: GroupMembers | undefined;
  private shownCgroups: readonly UserSliceUsage[] | undefined;
  /** The group files' members; cgroup slices are named after them, sanitized. */
  private groupMembers: GroupMembers | undefined;

  constructor(private readonly opts: Ds01CollectorOptions) {
    this.timeoutMs = opts.sourceTimeoutMs ?? 2000;
    this.gauges = {
      ds01_gpu_allocated: seriesGauge(ds01.ds01_gpu_allocated),
      ds01_gpu_equivalents: seriesGauge(ds01.ds01_gpu_equivalents),
      ds01_gpu_slot_info: seriesGauge(ds01.ds01_gpu_slot_info),
      ds01_mig_slot_info: seriesGauge(ds01.ds01_mig_slot_info),
      ds01_mig_mapping_status: seriesGauge(ds01.ds01_mig_mapping_status),
      ds01_containers_total: seriesGauge(ds01.ds01_containers_total),
      ds01_user_gpus_allocated: seriesGauge(ds01.ds01_user_gpus_allocated),
      ds01_user_mig_allocated: seriesGauge(ds01.ds01_user_mig_allocated),
      ds01_user_gpu_equivalents: seriesGauge(ds01.ds01_user_gpu_equivalents),
      ds01_user_containers_count: seriesGauge(ds01.ds01_user_containers_count),
      ds01_unmanaged_gpu_count: gauge(ds01.ds01_unmanaged_gpu_count),
      ds01_unmanaged_gpu_running: gauge(ds01.ds01_unmanaged_gpu_running),
      ds01_unmanaged_gpu_all_access: gauge(ds01.ds01_unmanaged_gpu_all_access),
      ds01_unmanaged_gpu_container: seriesGauge(ds01.ds01_unmanaged_gpu_container),
      ds01_events_24h_total: gauge(ds01.ds01_events_24h_total),
      ds01_lifecycle_events_total: seriesGauge(ds01.ds01_lifecycle_events_total),
      ds01_ssh_sessions_active: seriesGauge(ds01.ds01_ssh_sessions_active),
      ds01_ssh_sessions_total: gauge(ds01.ds01_ssh_sessions_total),
      ds01_user_group_info: seriesGauge(ds01.ds01_user_group_info),
      ds01_group_members_total: seriesGauge(ds01.ds01_group_members_total),
      ds01_user_cpu_usage_seconds_total: seriesGauge(ds01.ds01_user_cpu_usage_seconds_total),
      ds01_user_memory_current_bytes: seriesGauge(ds01.ds01_user_memory_current_bytes),
      ds01_state_disk_bytes: gauge(ds01.ds01_state_disk_bytes),
      ds01_exporter_info: gauge(ds01.ds01_exporter_info),
    };
    const type = opts.infoType ?? opts.snapshot?.name ?? "none";
    this.gauges.ds01_exporter_info.set({ version: opts.version, type }, 1);
  }

  register(registry: Registry): void {
    for (const g of Object.values(this.gauges) as Gauge[]) registry.registerMetric(g);
    this.tracker = sourceTracker(registry);
  }

  /** Concurrent scrapes share one refresh. */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  async close(): Promise<void> {
    const { snapshot, events, stateDir, sessions, groups, cgroups } = this.opts;
    await Promise.all([snapshot, events, stateDir, sessions, groups, cgroups].map((s) => s?.close()));
  }

  private async doRefresh(): Promise<void> {
    const tracker = this.tracker;
    if (!tracker) return;
    const { snapshot, events, stateDir, sessions, groups, cgroups, deviceMap } = this.opts;
    const read = <T>(source: Source<T> | undefined): Promise<T | undefined> | undefined => (source ? tracker.track(source, this.timeoutMs) : undefined);
    try {
      // The device map is read for its health alone (the allocation source uses its contents).
      const [snap, counts, disk, logins, members, slices] = await Promise.all([
        read(snapshot),
        read(events),
        read(stateDir),
        read(sessions),
        read(groups),
        read(cgroups),
        read(deviceMap),
      ]);
      if (snap && snap !== this.shownSnapshot) this.showSnapshot(snap);
      if (counts && counts !== this.shownEvents) this.showEvents(counts);
      if (disk && disk !== this.shownDisk) this.showDisk(disk);
      if (logins && logins !== this.shownSessions) this.showSessions(logins);
      const groupsChanged = members !== undefined && members !== this.shownGroups;
      if (groupsChanged) this.showGroups(members);
      // New group files can name a slice's user: the cgroup series are relabelled then too.
      if (slices && (slices !== this.shownCgroups || groupsChanged)) this.showCgroups(slices);
    } catch {
      // track() never throws and show*() only sets gauges; this guards the contract regardless.
    }
  }

  private showSnapshot(s: Ds01Snapshot): void {
    const gpuSlots = new SeriesSet<(typeof ds01)["ds01_gpu_slot_info"]["labels"][number]>();
    // A GPU in MIG mode is allocated through its instances (ds01_mig_slot_info), never whole.
    for (const gpu of s.gpus) {
      if (gpu.migEnabled) continue;
      gpuSlots.set({ gpu: gpu.index, slot: gpu.index, gpu_slot: gpu.index, gpu_uuid: gpu.uuid, model: gpu.model, mig_enabled: "false" }, 1);
    }
    const migSlots = new SeriesSet<(typeof ds01)["ds01_mig_slot_info"]["labels"][number]>();
    for (const mig of s.migDevices) {
      migSlots.set({ gpu: mig.gpu, gpu_i_id: mig.gpuInstanceId, slot: mig.slot, mig_uuid: mig.uuid, profile: mig.profile }, 1);
    }
    const userSlots = new Map<string, number>();
    const userDistinctSlots = new Map<string, Set<string>>();
    const userEq = new Map<string, number>();
    for (const a of s.allocations) {
      userSlots.set(a.user, (userSlots.get(a.user) ?? 0) + 1);
      const slots = userDistinctSlots.get(a.user) ?? new Set<string>();
      userDistinctSlots.set(a.user, slots.add(a.slot));
      userEq.set(a.user, (userEq.get(a.user) ?? 0) + a.gpuEquivalents);
    }
    const byStatus = new Map<string, { status: string; iface: string; n: number }>();
    const userContainers = new Map<string, number>();
    for (const c of s.containers) {
      const key = `${c.status}\u0000${c.interface}`;
      const entry = byStatus.get(key) ?? { status: c.status, iface: c.interface, n: 0 };
      entry.n++;
      byStatus.set(key, entry);
      userContainers.set(c.user, (userContainers.get(c.user) ?? 0) + 1);
    }
    const g = this.gauges;
    // Everything below runs in one synchronous step: a concurrent scrape sees all old or all new.
    g.ds01_gpu_slot_info.replace(gpuSlots.series());
    g.ds01_mig_slot_info.replace(migSlots.series());
    // One series an allocation: listed from the snapshot when the family is written, not kept twice.
    g.ds01_gpu_allocated.replaceWith(() => {
      const allocated = new SeriesSet<(typeof ds01)["ds01_gpu_allocated"]["labels"][number]>();
      for (const a of s.allocations) allocated.set({ gpu_slot: a.slot, gpu_uuid: a.uuid, profile: a.profile, container: a.container, user: a.user, interface: a.interface }, 1);
      return allocated.series();
    });
    g.ds01_gpu_equivalents.replaceWith(() => {
      const equivalents = new SeriesSet<(typeof ds01)["ds01_gpu_equivalents"]["labels"][number]>();
      for (const a of s.allocations) equivalents.set({ gpu_slot: a.slot, profile: a.profile, container: a.container, user: a.user }, a.gpuEquivalents);
      return equivalents.series();
    });
    g.ds01_containers_total.replace([...byStatus.values()].map(({ status, iface, n }) => ({ labels: { status, interface: iface }, value: n })));
    g.ds01_user_containers_count.replace([...userContainers].map(([user, n]) => ({ labels: { user }, value: n })));
    g.ds01_user_mig_allocated.replace(perKey("user", userSlots));
    // DS01's count: distinct slots, so two of a user's containers on one slot count once.
    g.ds01_user_gpus_allocated.replace([...userDistinctSlots].map(([user, slots]) => ({ labels: { user }, value: slots.size })));
    // Rounded so 3 × 1/7 reads 0.428571..., not 0.42857142857142855 plus float noise.
    g.ds01_user_gpu_equivalents.replace([...userEq].map(([user, eq]) => ({ labels: { user }, value: Math.round(eq * 1e9) / 1e9 })));
    // Absent on a host without MIG, as DS01 has it; a device ID nothing maps still shows as 0.
    const { mapped, unmapped } = s.migMapping;
    const hasMig = s.gpus.some((gpu) => gpu.migEnabled) || s.migDevices.length > 0 || unmapped > 0;
    g.ds01_mig_mapping_status.replace(hasMig ? [{ labels: { mapped: String(mapped), unmapped: String(unmapped) }, value: unmapped === 0 ? 1 : 0 }] : []);
    g.ds01_unmanaged_gpu_count.set(s.unmanaged.length);
    g.ds01_unmanaged_gpu_running.set(s.unmanaged.filter((c) => c.running).length);
    g.ds01_unmanaged_gpu_all_access.set(s.unmanaged.filter((c) => c.accessType === "all").length);
    g.ds01_unmanaged_gpu_container.replace(
      s.unmanaged.map((c) => ({
        labels: { container: c.name, user: c.user, gpu_count: c.gpuCount, access_type: c.accessType, running: String(c.running) },
        value: 1,
      })),
    );
    this.shownSnapshot = s;
  }

  private showEvents(counts: EventCounts): void {
    // No reset: a type whose events all left the window reads 0 rather than vanishing, until the
    // events log evicts it to make room at its type cap; then its series goes too.
    const g = this.gauges.ds01_events_24h_total;
    for (const eventType of this.shownEvents?.keys() ?? []) if (!counts.has(eventType)) g.remove({ event_type: eventType });
    for (const [eventType, n] of counts) g.set({ event_type: eventType }, n);
    this.gauges.ds01_lifecycle_events_total.replace(lifecycleCounts(counts).map(({ action, count }) => ({ labels: { action }, value: count })));
    this.shownEvents = counts;
  }

  private showDisk(d: StateDirUsage): void {
    const g = this.gauges.ds01_state_disk_bytes;
    g.set({ type: "used" }, d.used);
    g.set({ type: "free" }, d.free);
    g.set({ type: "total" }, d.total);
    g.set({ type: "state" }, d.state);
    this.shownDisk = d;
  }

  private showSessions(counts: SessionCounts): void {
    let total = 0;
    for (const n of counts.values()) total += n;
    this.gauges.ds01_ssh_sessions_active.replace(perKey("user", counts));
    this.gauges.ds01_ssh_sessions_total.set(total);
    this.shownSessions = counts;
  }

  private showGroups(groups: GroupMembers): void {
    const info: Array<{ labels: { user: string; group: string }; value: number }> = [];
    for (const [group, members] of groups) for (const user of members) info.push({ labels: { user, group }, value: 1 });
    this.gauges.ds01_user_group_info.replace(info);
    this.gauges.ds01_group_members_total.replace([...groups].map(([group, members]) => ({ labels: { group }, value: members.length })));
    this.groupMembers = groups;
    this.shownGroups = groups;
  }

  private showCgroups(slices: readonly UserSliceUsage[]): void {
    const names = sliceUserNames(this.groupMembers);
    const cpu = new SeriesSet<"user" | "group">();
    const memory = new SeriesSet<"user" | "group">();
    for (const s of slices) {
      const labels = { user: names.get(s.sliceUser) ?? s.sliceUser, group: s.group };
      if (s.cpuSeconds !== undefined) cpu.set(labels, s.cpuSeconds);
      if (s.memoryBytes !== undefined) memory.set(labels, s.memoryBytes);
    }
    this.gauges.ds01_user_cpu_usage_seconds_total.replace(cpu.series());
    this.gauges.ds01_user_memory_current_bytes.replace(memory.series());
    this.shownCgroups = slices;
  }
}

export function createDs01Collector(opts: Ds01CollectorOptions): Ds01Collector {
  return new Ds01Collector(opts);
}
