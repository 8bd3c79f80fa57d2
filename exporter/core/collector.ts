import type { Registry } from "prom-client";

/**
 * A group of metrics fed from one or more sources. Before each /metrics response the server
 * calls `refresh()` on every collector (concurrently, each bounded by a timeout); a collector
 * whose source fails keeps publishing its last good values and never throws out of refresh().
 */
export interface Collector {
  readonly name: string;
  /** Registers this collector's metrics; called once at start-up. */
  register(registry: Registry): void;
  refresh(): Promise<void>;
  close(): Promise<void>;
}
