import { Gauge, type Registry } from "prom-client";
import { ds01 } from "../../metrics";
import type { MetricDef } from "../../metrics/define";
import type { Collector } from "../core/collector";
import type { Source } from "../core/source";
import { sourceTracker, type SourceTracker } from "../core/tracker";
import type { EventCounts } from "./events-log";
import type { Ds01Snapshot } from "./model";
import { SeriesGauge } from "./series-gauge";
import type { StateDirUsage } from "./state-dir-source";

export interface Ds01CollectorOptions {
  /** Allocations: the Docker source, the state-file source, or the simulation. */
  readonly snapshot?: Source<Ds01Snapshot>;
  /** ds01_events_24h_total. */
  readonly events?: Source<EventCounts>;
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
  return new SeriesGauge<L>({ name: def.name, help: def.help, labelNames: def.labels, registers: [] });
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
    ds01_mig_mapping_status: Gauge;
    ds01_containers_total: SeriesGauge<LabelsOf<"ds01_containers_total">>;
    ds01_user_mig_allocated: SeriesGauge<"user">;
    ds01_user_gpu_equivalents: SeriesGauge<"user">;
    ds01_user_containers_count: SeriesGauge<"user">;
    ds01_unmanaged_gpu_count: Gauge;
    ds01_unmanaged_gpu_running: Gauge;
    ds01_unmanaged_gpu_all_access: Gauge;
    ds01_events_24h_total: Gauge<"event_type">;
    ds01_state_disk_bytes: Gauge<"type">;
    ds01_exporter_info: Gauge<LabelsOf<"ds01_exporter_info">>;
  };
  private tracker: SourceTracker | undefined;
  private readonly timeoutMs: number;
  private refreshing: Promise<void> | undefined;
  private shownSnapshot: Ds01Snapshot | undefined;
  private shownEvents: EventCounts | undefined;
  private shownDisk: StateDirUsage | undefined;

  constructor(private readonly opts: Ds01CollectorOptions) {
    this.timeoutMs = opts.sourceTimeoutMs ?? 2000;
    this.gauges = {
      ds01_gpu_allocated: seriesGauge(ds01.ds01_gpu_allocated),
      ds01_gpu_equivalents: seriesGauge(ds01.ds01_gpu_equivalents),
      ds01_gpu_slot_info: seriesGauge(ds01.ds01_gpu_slot_info),
      ds01_mig_slot_info: seriesGauge(ds01.ds01_mig_slot_info),
      ds01_mig_mapping_status: gauge(ds01.ds01_mig_mapping_status),
      ds01_containers_total: seriesGauge(ds01.ds01_containers_total),
      ds01_user_mig_allocated: seriesGauge(ds01.ds01_user_mig_allocated),
      ds01_user_gpu_equivalents: seriesGauge(ds01.ds01_user_gpu_equivalents),
      ds01_user_containers_count: seriesGauge(ds01.ds01_user_containers_count),
      ds01_unmanaged_gpu_count: gauge(ds01.ds01_unmanaged_gpu_count),
      ds01_unmanaged_gpu_running: gauge(ds01.ds01_unmanaged_gpu_running),
      ds01_unmanaged_gpu_all_access: gauge(ds01.ds01_unmanaged_gpu_all_access),
      ds01_events_24h_total: gauge(ds01.ds01_events_24h_total),
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
    await Promise.all([this.opts.snapshot?.close(), this.opts.events?.close(), this.opts.stateDir?.close()]);
  }

  private async doRefresh(): Promise<void> {
    const tracker = this.tracker;
    if (!tracker) return;
    const { snapshot, events, stateDir, deviceMap } = this.opts;
    try {
      const [snap, counts, disk] = await Promise.all([
        snapshot ? tracker.track(snapshot, this.timeoutMs) : undefined,
        events ? tracker.track(events, this.timeoutMs) : undefined,
        stateDir ? tracker.track(stateDir, this.timeoutMs) : undefined,
        deviceMap ? tracker.track(deviceMap, this.timeoutMs) : undefined,
      ]);
      if (snap && snap !== this.shownSnapshot) this.showSnapshot(snap);
      if (counts && counts !== this.shownEvents) this.showEvents(counts);
      if (disk && disk !== this.shownDisk) this.showDisk(disk);
    } catch {
      // track() never throws and show*() only sets gauges; this guards the contract regardless.
    }
  }

  private showSnapshot(s: Ds01Snapshot): void {
    const gpuSlots = new SeriesSet<(typeof ds01)["ds01_gpu_slot_info"]["labels"][number]>();
    for (const gpu of s.gpus) {
      gpuSlots.set({ gpu: gpu.index, gpu_slot: gpu.index, gpu_uuid: gpu.uuid, model: gpu.model, mig_enabled: String(gpu.migEnabled) }, 1);
    }
    const migSlots = new SeriesSet<(typeof ds01)["ds01_mig_slot_info"]["labels"][number]>();
    for (const mig of s.migDevices) {
      migSlots.set({ gpu: mig.gpu, gpu_i_id: mig.gpuInstanceId, slot: mig.slot, mig_uuid: mig.uuid, profile: mig.profile }, 1);
    }
    const allocated = new SeriesSet<(typeof ds01)["ds01_gpu_allocated"]["labels"][number]>();
    const equivalents = new SeriesSet<(typeof ds01)["ds01_gpu_equivalents"]["labels"][number]>();
    const userSlots = new Map<string, number>();
    const userEq = new Map<string, number>();
    for (const a of s.allocations) {
      allocated.set({ gpu_slot: a.slot, gpu_uuid: a.uuid, profile: a.profile, container: a.container, user: a.user, interface: a.interface }, 1);
      equivalents.set({ gpu_slot: a.slot, profile: a.profile, container: a.container, user: a.user }, a.gpuEquivalents);
      userSlots.set(a.user, (userSlots.get(a.user) ?? 0) + 1);
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
    g.ds01_gpu_allocated.replace(allocated.series());
    g.ds01_gpu_equivalents.replace(equivalents.series());
    g.ds01_containers_total.replace([...byStatus.values()].map(({ status, iface, n }) => ({ labels: { status, interface: iface }, value: n })));
    g.ds01_user_containers_count.replace([...userContainers].map(([user, n]) => ({ labels: { user }, value: n })));
    g.ds01_user_mig_allocated.replace([...userSlots].map(([user, n]) => ({ labels: { user }, value: n })));
    // Rounded so 3 × 1/7 reads 0.428571..., not 0.42857142857142855 plus float noise.
    g.ds01_user_gpu_equivalents.replace([...userEq].map(([user, eq]) => ({ labels: { user }, value: Math.round(eq * 1e9) / 1e9 })));
    g.ds01_mig_mapping_status.set(s.migMappingOk ? 1 : 0);
    g.ds01_unmanaged_gpu_count.set(s.unmanaged.total);
    g.ds01_unmanaged_gpu_running.set(s.unmanaged.running);
    g.ds01_unmanaged_gpu_all_access.set(s.unmanaged.allAccess);
    this.shownSnapshot = s;
  }

  private showEvents(counts: EventCounts): void {
    // No reset: a type whose events all left the window reads 0 rather than vanishing.
    for (const [eventType, n] of counts) this.gauges.ds01_events_24h_total.set({ event_type: eventType }, n);
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
}

export function createDs01Collector(opts: Ds01CollectorOptions): Ds01Collector {
  return new Ds01Collector(opts);
}
