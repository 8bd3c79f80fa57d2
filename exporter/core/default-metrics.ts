import { monitorEventLoopDelay } from "node:perf_hooks";
import { Gauge, type Registry } from "prom-client";
import gc = require("prom-client/lib/metrics/gc");
import heapSizeAndUsed = require("prom-client/lib/metrics/heapSizeAndUsed");
import heapSpacesSizeAndUsed = require("prom-client/lib/metrics/heapSpacesSizeAndUsed");
import osMemoryHeap = require("prom-client/lib/metrics/osMemoryHeap");
import processCpuTotal = require("prom-client/lib/metrics/processCpuTotal");
import processHandles = require("prom-client/lib/metrics/processHandles");
import processMaxFileDescriptors = require("prom-client/lib/metrics/processMaxFileDescriptors");
import processOpenFileDescriptors = require("prom-client/lib/metrics/processOpenFileDescriptors");
import processRequests = require("prom-client/lib/metrics/processRequests");
import processResources = require("prom-client/lib/metrics/processResources");
import processStartTime = require("prom-client/lib/metrics/processStartTime");
import version = require("prom-client/lib/metrics/version");

/** How often node samples the event loop's delay, as prom-client's default (ms). */
const EVENT_LOOP_RESOLUTION_MS = 10;

/** Registers a collector's metrics; what it returns, if anything, stops what it runs between scrapes. */
type RegisterCollector = (registry: Registry) => (() => void) | void;

/**
 * prom-client's default collectors by the names in `collectDefaultMetrics.metricsList`, in its
 * order; its `eventLoopLag` is replaced by registerEventLoopLag. A test holds this list to
 * prom-client's, so an upgrade that adds a collector is noticed.
 */
export const PROM_CLIENT_COLLECTORS = {
  processCpuTotal,
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  eventLoopLag: registerEventLoopLag,
  ...(typeof process.getActiveResourcesInfo === "function" ? { processResources } : {}),
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
  gc,
} satisfies Record<string, RegisterCollector>;

/** Gauges named *_total break the naming rules promtool checks; the same numbers stay as nodejs_active_handles/requests/resources (by type). */
const MISNAMED = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

/** What prom-client's default collectors publish that this exporter leaves out (see registerEventLoopLag and MISNAMED). */
export const OMITTED_DEFAULT_METRICS = ["nodejs_eventloop_lag_stddev_seconds", ...MISNAMED] as const;

/**
 * process_* and nodejs_* as prom-client's collectDefaultMetrics registers them, less
 * OMITTED_DEFAULT_METRICS.
 */
export function registerDefaultMetrics(registry: Registry): { close(): void } {
  const closers: Array<() => void> = [];
  for (const register of Object.values<RegisterCollector>(PROM_CLIENT_COLLECTORS)) {
    const close = register(registry);
    if (close) closers.push(close);
  }
  for (const name of MISNAMED) registry.removeSingleMetric(name);
  return { close: () => closers.forEach((close) => close()) };
}

/**
 * prom-client's event-loop collector, less its standard deviation, and without reading an empty
 * histogram. node computes the deviation by walking every bucket of a histogram that spans 1 ns
 * to hours, 0.25 ms at each scrape, and nothing here reads it. Between scrapes closer together
 * than the sampling interval the histogram is empty: prom-client then publishes a minimum of
 * 9.2e9 s, a mean of NaN and percentiles of 511 ns, each percentile costing a walk of the whole
 * histogram. Here an empty window keeps the previous window's figures, as a gauge that was not
 * updated does. nodejs_eventloop_lag_seconds is prom-client's own probe: the delay of a
 * setImmediate scheduled at the previous scrape.
 */
function registerEventLoopLag(registry: Registry): () => void {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  histogram.enable();
  const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers: [registry] });
  const lag: Gauge = new Gauge({
    name: "nodejs_eventloop_lag_seconds",
    help: "Lag of event loop in seconds.",
    registers: [registry],
    // One collect sets every event-loop gauge, as prom-client's does.
    collect() {
      const start = process.hrtime.bigint();
      setImmediate(() => lag.set(Number(process.hrtime.bigint() - start) / 1e9));
      if (histogram.count === 0) return;
      min.set(histogram.min / 1e9);
      max.set(histogram.max / 1e9);
      mean.set(histogram.mean / 1e9);
      p50.set(histogram.percentile(50) / 1e9);
      p90.set(histogram.percentile(90) / 1e9);
      p99.set(histogram.percentile(99) / 1e9);
      histogram.reset();
    },
  });
  const min = gauge("nodejs_eventloop_lag_min_seconds", "The minimum recorded event loop delay.");
  const max = gauge("nodejs_eventloop_lag_max_seconds", "The maximum recorded event loop delay.");
  const mean = gauge("nodejs_eventloop_lag_mean_seconds", "The mean of the recorded event loop delays.");
  const p50 = gauge("nodejs_eventloop_lag_p50_seconds", "The 50th percentile of the recorded event loop delays.");
  const p90 = gauge("nodejs_eventloop_lag_p90_seconds", "The 90th percentile of the recorded event loop delays.");
  const p99 = gauge("nodejs_eventloop_lag_p99_seconds", "The 99th percentile of the recorded event loop delays.");
  // Its sampling timer runs until disabled; an exporter closed inside a longer-lived process stops it.
  return () => histogram.disable();
}
