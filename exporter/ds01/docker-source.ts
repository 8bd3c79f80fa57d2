import type { Source } from "../core/source";
import { readRegularFile } from "../core/regular-file";
import { labelDeviceIds, parsePasswd, type ContainerRecord, type UidResolver } from "./classify";
import { DeviceMapFile, EMPTY_DEVICE_MAP, type DeviceMap, type DeviceMapSource } from "./device-map";
import { DockerApi, DockerApiError, type EventStream } from "./docker-api";
import type { Ds01Snapshot } from "./model";
import { buildSnapshot } from "./snapshot";

export interface DockerSourceOptions {
  /** The engine's unix socket, e.g. /var/run/docker.sock. */
  readonly socketPath: string;
  /** `nvidia-smi -L` output or the JSON device map; without one no device ID maps to a slot. */
  readonly deviceMapFile?: string;
  /** Where the device map comes from otherwise (e.g. `nvidia-smi -L`); ignored when deviceMapFile is set. */
  readonly deviceMap?: DeviceMapSource;
  /** Resolves AIME names' uids; default /etc/passwd. */
  readonly passwdFile?: string;
  /** Per engine request. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Largest engine response accepted (the container list on a busy host). Default 64 MiB. */
  readonly maxResponseBytes?: number;
  /** Inspections run at once while (re)listing. Default 8. */
  readonly inspectConcurrency?: number;
  /** First wait before re-opening a broken event stream; doubles up to maxBackoffMs. Default 500. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How long a read waits for inspections that events have queued. Default 250. */
  readonly inspectWaitMs?: number;
  /** Source name in ds01_exporter_source_*; default "docker". */
  readonly name?: string;
}

/** Engine statistics, for tests and the benchmark: what the cache cost. */
export interface DockerSourceStats {
  readonly lists: number;
  readonly inspects: number;
  readonly eventsSeen: number;
  readonly resyncs: number;
}

/** Container events after which the container is inspected again; others leave it as it was. */
const REFRESHING_ACTIONS: ReadonlySet<string> = new Set([
  "create",
  "start",
  "restart",
  "die",
  "stop",
  "kill",
  "pause",
  "unpause",
  "rename",
  "update",
  "oom",
]);

interface EngineEvent {
  readonly id: string;
  readonly action: string;
}

/**
 * DS01 allocations read from the Docker engine. Containers are listed and inspected once, then
 * kept current by the engine's event stream: a read builds the snapshot from this cache and
 * costs no engine call while the stream is healthy. When the stream breaks, the source reports
 * down, and re-opens it and relists with exponential backoff; events arriving during a relist
 * are applied after it, so none is lost to the race.
 */
export class DockerSource implements Source<Ds01Snapshot> {
  readonly name: string;
  private readonly api: DockerApi;
  private readonly deviceMap: DeviceMapSource | undefined;
  private readonly passwdFile: string;
  private readonly concurrency: number;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly inspectWaitMs: number;

  private readonly cache = new Map<string, ContainerRecord>();
  private stream: EventStream | undefined;
  private live = false;
  private lastError: Error | undefined;
  private syncing: Promise<void> | undefined;
  /** Events that arrived while a list was in progress. */
  private buffered: EngineEvent[] | undefined;
  private pendingInspects = new Set<string>();
  private inspecting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private closed = false;

  private snapshot: Ds01Snapshot | undefined;
  private snapshotDevices: DeviceMap | undefined;
  private users: Map<string, string> | undefined;
  private mutableStats = { lists: 0, inspects: 0, eventsSeen: 0, resyncs: 0 };

  constructor(opts: DockerSourceOptions) {
    this.name = opts.name ?? "docker";
    this.api = new DockerApi({ socketPath: opts.socketPath, timeoutMs: opts.requestTimeoutMs ?? 5000, maxResponseBytes: opts.maxResponseBytes });
    this.deviceMap = opts.deviceMapFile ? new DeviceMapFile(opts.deviceMapFile) : opts.deviceMap;
    this.passwdFile = opts.passwdFile ?? "/etc/passwd";
    this.concurrency = Math.max(1, opts.inspectConcurrency ?? 8);
    this.minBackoff = opts.minBackoffMs ?? 500;
    this.maxBackoff = opts.maxBackoffMs ?? 30_000;
    this.backoff = this.minBackoff;
    this.inspectWaitMs = opts.inspectWaitMs ?? 250;
  }

  get stats(): DockerSourceStats {
    return { ...this.mutableStats };
  }

  async read(): Promise<Ds01Snapshot> {
    if (this.closed) throw new Error("docker source is closed");
    if (!this.live) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      await this.sync();
      if (!this.live) throw this.lastError ?? new Error("docker engine not reachable");
    }
    // Changes just announced by events are waited for briefly, so a scrape right after a
    // `docker run` shows it; a long burst of them must not make the source look down.
    if (this.inspecting) await Promise.race([this.inspecting, sleep(this.inspectWaitMs)]);
    // A failed inspection breaks the stream state; report it rather than serve a stale cache silently.
    if (!this.live) throw this.lastError ?? new Error("docker engine not reachable");
    let devices = this.deviceMap ? await this.deviceMap.load() : EMPTY_DEVICE_MAP;
    let snapshot = await this.snapshotWith(devices);
    // A device the map lacks: MIG may have been reconfigured since the map was read.
    if (snapshot.migMapping.unmapped > 0 && this.deviceMap?.unknownDevice) {
      devices = await this.deviceMap.unknownDevice();
      snapshot = await this.snapshotWith(devices);
    }
    return snapshot;
  }

  private async snapshotWith(devices: DeviceMap): Promise<Ds01Snapshot> {
    if (!this.snapshot || devices !== this.snapshotDevices) {
      if (!this.users) this.users = await this.loadUsers();
      const users = this.users;
      const resolve: UidResolver = (uid) => users.get(uid);
      this.snapshot = buildSnapshot(this.cache.values(), devices, resolve);
      this.snapshotDevices = devices;
    }
    return this.snapshot;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.stream?.close();
    this.api.close();
  }

  /** One (re)synchronisation at a time; concurrent readers share it. */
  private sync(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.doSync().finally(() => {
        this.syncing = undefined;
      });
    }
    return this.syncing;
  }

  private async doSync(): Promise<void> {
    this.stream?.close();
    this.stream = undefined;
    this.buffered = [];
    try {
      // Subscribe before listing, so a change made while the list is in flight is seen.
      const stream = await this.api.openStream(`/events?filters=${encodeURIComponent(JSON.stringify({ type: ["container"] }))}`, (value) =>
        this.onEvent(value),
      );
      this.stream = stream;
      // done never rejects (it resolves with the reason the stream ended); onStreamEnd schedules the resync.
      void stream.done.then((err) => this.onStreamEnd(stream, err));
      const list = await this.api.getJson("/containers/json?all=1");
      this.mutableStats.lists++;
      if (!Array.isArray(list)) throw new DockerApiError("docker /containers/json: not a list");
      const ids: string[] = [];
      for (const item of list) {
        const id = (item as { Id?: unknown }).Id;
        if (typeof id === "string") ids.push(id);
      }
      const fresh = new Map<string, ContainerRecord>();
      await runLimited(ids, this.concurrency, async (id) => {
        const record = await this.inspect(id);
        if (record) fresh.set(id, record);
      });
      if (this.stream !== stream) throw this.lastError ?? new DockerApiError("event stream ended during resync");
      this.cache.clear();
      for (const [id, record] of fresh) this.cache.set(id, record);
      this.snapshot = undefined;
      const missed = this.buffered;
      this.buffered = undefined;
      this.live = true;
      this.lastError = undefined;
      this.backoff = this.minBackoff;
      this.mutableStats.resyncs++;
      for (const event of missed) this.apply(event);
    } catch (err: unknown) {
      this.buffered = undefined;
      this.live = false;
      this.lastError = err instanceof Error ? err : new Error(String(err));
      this.stream?.close();
      this.stream = undefined;
      this.scheduleRetry();
    }
  }

  private onStreamEnd(stream: EventStream, err: Error): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.live = false;
    this.lastError = err;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.maxBackoff);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // sync() records its failure as lastError and schedules the next retry itself.
      if (!this.live && !this.closed) void this.sync();
    }, wait);
    this.retryTimer.unref();
  }

  private onEvent(value: unknown): void {
    const event = parseEngineEvent(value);
    if (!event) return;
    this.mutableStats.eventsSeen++;
    if (this.buffered) this.buffered.push(event);
    else this.apply(event);
  }

  private apply(event: EngineEvent): void {
    if (event.action === "destroy") {
      this.pendingInspects.delete(event.id);
      if (this.cache.delete(event.id)) this.snapshot = undefined;
      return;
    }
    if (!REFRESHING_ACTIONS.has(event.action)) return;
    this.pendingInspects.add(event.id);
    if (!this.inspecting) this.inspecting = this.drainInspects();
  }

  /** Inspects containers named by events, a few at a time, until none is pending. */
  private async drainInspects(): Promise<void> {
    try {
      while (this.pendingInspects.size > 0) {
        const batch = [...this.pendingInspects];
        this.pendingInspects.clear();
        await runLimited(batch, this.concurrency, async (id) => {
          const record = await this.inspect(id);
          if (record) this.cache.set(id, record);
          else this.cache.delete(id);
          this.snapshot = undefined;
        });
      }
    } catch (err: unknown) {
      // The cache may now be wrong; drop the stream so the next read relists.
      this.lastError = err instanceof Error ? err : new Error(String(err));
      this.live = false;
      this.pendingInspects.clear();
      this.stream?.close();
      this.stream = undefined;
      this.scheduleRetry();
    } finally {
      this.inspecting = undefined;
    }
  }

  /** The container's record; undefined when it no longer exists. */
  private async inspect(id: string): Promise<ContainerRecord | undefined> {
    this.mutableStats.inspects++;
    try {
      return toRecord(id, await this.api.getJson(`/containers/${encodeURIComponent(id)}/json`));
    } catch (err: unknown) {
      if (err instanceof DockerApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  private async loadUsers(): Promise<Map<string, string>> {
    try {
      return parsePasswd((await readRegularFile(this.passwdFile, "passwd file", 16 * 1024 * 1024)).toString("utf8"));
    } catch {
      return new Map();
    }
  }
}

function parseEngineEvent(value: unknown): EngineEvent | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as { Type?: unknown; Action?: unknown; status?: unknown; id?: unknown; Actor?: { ID?: unknown } };
  if (v.Type !== undefined && v.Type !== "container") return undefined;
  const action = typeof v.Action === "string" ? v.Action : typeof v.status === "string" ? v.status : undefined;
  const id = typeof v.Actor?.ID === "string" ? v.Actor.ID : typeof v.id === "string" ? v.id : undefined;
  if (!action || !id) return undefined;
  return { id, action };
}

interface InspectShape {
  Id?: unknown;
  Name?: unknown;
  Config?: { Labels?: unknown };
  State?: { Status?: unknown };
  HostConfig?: { CgroupParent?: unknown; DeviceRequests?: unknown };
}

/** Reads what the collector needs out of GET /containers/{id}/json; rejects a body of another shape. */
export function toRecord(id: string, body: unknown): ContainerRecord {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new DockerApiError(`docker inspect ${id}: not an object`);
  const b = body as InspectShape;
  const labels: Record<string, string> = {};
  const rawLabels = b.Config?.Labels;
  if (typeof rawLabels === "object" && rawLabels !== null) {
    for (const [k, v] of Object.entries(rawLabels)) if (typeof v === "string") labels[k] = v;
  }
  const name = typeof b.Name === "string" ? b.Name.replace(/^\//, "") : id.slice(0, 12);
  const state = typeof b.State?.Status === "string" ? b.State.Status : "unknown";
  const cgroupParent = typeof b.HostConfig?.CgroupParent === "string" ? b.HostConfig.CgroupParent : "";
  const deviceIds: string[] = [];
  let allGpus = false;
  let gpuCount = 0;
  const requests = b.HostConfig?.DeviceRequests;
  if (Array.isArray(requests)) {
    for (const request of requests as { Driver?: unknown; Count?: unknown; DeviceIDs?: unknown; Capabilities?: unknown }[]) {
      if (!isGpuRequest(request)) continue;
      const ids = Array.isArray(request.DeviceIDs) ? request.DeviceIDs.filter((x): x is string => typeof x === "string") : [];
      if (ids.length > 0) deviceIds.push(...ids);
      else if (request.Count === -1) allGpus = true;
      else if (typeof request.Count === "number" && Number.isInteger(request.Count) && request.Count > 0) gpuCount += request.Count;
    }
  }
  if (deviceIds.length === 0) deviceIds.push(...labelDeviceIds(labels));
  return { id, name, labels, state, cgroupParent, deviceIds, allGpus, gpuCount };
}

function isGpuRequest(request: { Driver?: unknown; Capabilities?: unknown }): boolean {
  if (request.Driver === "nvidia") return true;
  if (!Array.isArray(request.Capabilities)) return request.Driver === undefined || request.Driver === "";
  return request.Capabilities.some((set) => Array.isArray(set) && set.includes("gpu"));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Runs `task` over `items` with at most `limit` in flight; the first failure rejects. */
async function runLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function createDockerSource(opts: DockerSourceOptions): DockerSource {
  return new DockerSource(opts);
}
