import { Counter, Gauge, type Registry } from "prom-client";
import { exporterSelf } from "../../metrics";
import { log } from "./log";
import type { Source } from "./source";

/** What the tracker knows about one source. */
export interface SourceStatus {
  readonly up: boolean;
  /** Unix seconds of the last successful read; undefined before the first one. */
  readonly lastSuccess: number | undefined;
  readonly errors: number;
  /** Message of the last failed read (sources must keep secrets out of their messages). */
  readonly lastError: string | undefined;
}

interface Entry<T> {
  last: T | undefined;
  status: SourceStatus;
  /** A read still running after its caller timed out; joined instead of starting another. */
  inFlight: Promise<T> | undefined;
}

class SourceTimeoutError extends Error {
  constructor(source: string, timeoutMs: number) {
    super(`source ${source} did not answer within ${timeoutMs} ms`);
  }
}

/**
 * Reads sources on behalf of collectors and reports their health: per source
 * ds01_exporter_source_up, ds01_exporter_source_last_success_timestamp_seconds and
 * ds01_exporter_source_errors_total. A failed or timed-out read yields the last good value,
 * so a broken source never empties (or breaks) a scrape.
 *
 * One tracker per registry: get it with `sourceTracker(registry)` so every collector
 * registered there shares the same three metrics. Source names must be unique per registry.
 */
export class SourceTracker {
  private readonly entries = new Map<string, Entry<unknown>>();
  private readonly up: Gauge<"source">;
  private readonly lastSuccess: Gauge<"source">;
  private readonly errors: Counter<"source">;
  private readonly dropped: Counter<"source">;
  /** What each source's dropped() read at the last publication, so the counter grows by the difference. */
  private readonly droppedSeen = new Map<string, number>();

  constructor(registry: Registry) {
    const m = exporterSelf;
    this.up = new Gauge({ name: m.ds01_exporter_source_up.name, help: m.ds01_exporter_source_up.help, labelNames: ["source"], registers: [registry] });
    this.lastSuccess = new Gauge({
      name: m.ds01_exporter_source_last_success_timestamp_seconds.name,
      help: m.ds01_exporter_source_last_success_timestamp_seconds.help,
      labelNames: ["source"],
      registers: [registry],
    });
    this.errors = new Counter({
      name: m.ds01_exporter_source_errors_total.name,
      help: m.ds01_exporter_source_errors_total.help,
      labelNames: ["source"],
      registers: [registry],
    });
    this.dropped = new Counter({
      name: m.ds01_exporter_source_dropped_total.name,
      help: m.ds01_exporter_source_dropped_total.help,
      labelNames: ["source"],
      registers: [registry],
    });
  }

  /** Publishes how much a capped source has left out so far (a series at 0 from its first read). */
  private publishDropped<T>(source: Source<T>): void {
    if (!source.dropped) return;
    const now = source.dropped();
    const before = this.droppedSeen.get(source.name) ?? 0;
    this.dropped.inc({ source: source.name }, Math.max(0, now - before));
    this.droppedSeen.set(source.name, Math.max(now, before));
  }

  /**
   * Reads `source`, bounded by `timeoutMs`. Returns the fresh value, or the last good one
   * (undefined before any success) when the read throws or times out. Never throws.
   */
  async track<T>(source: Source<T>, timeoutMs: number): Promise<T | undefined> {
    const entry = this.entry<T>(source.name);
    let pending = entry.inFlight;
    if (!pending) {
      const started = Promise.resolve().then(() => source.read());
      entry.inFlight = started;
      // Clear the slot whenever the read settles, even after its caller has given up on it.
      started.then(
        () => this.clearInFlight(entry, started),
        () => this.clearInFlight(entry, started),
      );
      pending = started;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SourceTimeoutError(source.name, timeoutMs)), timeoutMs);
      timer.unref();
    });
    try {
      const value = await Promise.race([pending, timeout]);
      entry.last = value;
      this.succeeded(source.name);
      return value;
    } catch (err: unknown) {
      this.failed(source.name, err);
      return entry.last;
    } finally {
      clearTimeout(timer);
      this.publishDropped(source);
    }
  }

  /** Records a success for a source that is fed by push (an event stream) rather than read. */
  succeeded(name: string): void {
    const entry = this.entry(name);
    const now = Date.now() / 1000;
    if (!entry.status.up && entry.status.errors > 0) log("info", "source recovered", { source: name });
    entry.status = { ...entry.status, up: true, lastSuccess: now, lastError: undefined };
    this.up.set({ source: name }, 1);
    this.lastSuccess.set({ source: name }, now);
    // Touch the counter so the series exists (at 0) from the first read on.
    this.errors.inc({ source: name }, 0);
  }

  /**
   * Records a failure. Logs on the transition to down and when the reason changes, not on
   * every repeat, so a dead source does not flood the log.
   */
  failed(name: string, err: unknown): void {
    const entry = this.entry(name);
    const message = err instanceof Error ? err.message : String(err);
    if (entry.status.up || entry.status.errors === 0 || entry.status.lastError !== message) {
      log("warn", "source down", { source: name, error: message });
    }
    entry.status = { ...entry.status, up: false, errors: entry.status.errors + 1, lastError: message };
    this.up.set({ source: name }, 0);
    this.errors.inc({ source: name });
  }

  /** Current health of a source; undefined if it was never read. */
  status(name: string): SourceStatus | undefined {
    return this.entries.get(name)?.status;
  }

  /** The last good value of a source without reading it. */
  lastValue<T>(name: string): T | undefined {
    return this.entries.get(name)?.last as T | undefined;
  }

  private entry<T>(name: string): Entry<T> {
    let entry = this.entries.get(name);
    if (!entry) {
      entry = { last: undefined, inFlight: undefined, status: { up: false, lastSuccess: undefined, errors: 0, lastError: undefined } };
      this.entries.set(name, entry);
    }
    return entry as Entry<T>;
  }

  private clearInFlight<T>(entry: Entry<T>, settled: Promise<T>): void {
    if (entry.inFlight === settled) entry.inFlight = undefined;
  }
}

const trackers = new WeakMap<Registry, SourceTracker>();

/** The registry's tracker, created (and its metrics registered) on first use. */
export function sourceTracker(registry: Registry): SourceTracker {
  let tracker = trackers.get(registry);
  if (!tracker) {
    tracker = new SourceTracker(registry);
    trackers.set(registry, tracker);
  }
  return tracker;
}
