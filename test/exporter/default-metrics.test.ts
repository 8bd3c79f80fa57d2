import { collectDefaultMetrics, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { OMITTED_DEFAULT_METRICS, PROM_CLIENT_COLLECTORS, registerDefaultMetrics } from "../../exporter/core/default-metrics";
import { parseExposition, promtoolFindings } from "./helpers";

const EVENT_LOOP = ["min", "max", "mean", "p50", "p90", "p99"].map((s) => `nodejs_eventloop_lag_${s}_seconds`);

/** HELP and TYPE lines of every family, in order. */
function headers(page: string): string[] {
  return page.split("\n").filter((line) => line.startsWith("# HELP ") || line.startsWith("# TYPE "));
}

async function eventLoopFigures(registry: Registry): Promise<Record<string, number>> {
  const page = parseExposition(await registry.metrics());
  return Object.fromEntries(EVENT_LOOP.map((name) => [name, page.find((s) => s.name === name)!.value]));
}

/** Keeps the event loop busy for a while, so node's delay histogram records samples. */
async function busyLoop(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const spin = performance.now() + 3;
    while (performance.now() < spin);
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe("default metrics", () => {
  it("registers prom-client's collectors, in its order, one by one", () => {
    expect(Object.keys(PROM_CLIENT_COLLECTORS)).toEqual(collectDefaultMetrics.metricsList);
  });

  it("publishes every family prom-client's collectDefaultMetrics does, with its HELP and TYPE, less the omitted ones", async () => {
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs });
    const ours = new Registry();
    const defaults = registerDefaultMetrics(ours);
    try {
      const omitted = new Set<string>(OMITTED_DEFAULT_METRICS);
      const expected = headers(await theirs.metrics()).filter((line) => !omitted.has(line.split(" ")[2]!));
      const page = await ours.metrics();
      expect(headers(page)).toEqual(expected);
      expect(expected.length).toBeGreaterThan(40);
      expect(await promtoolFindings(page)).toEqual([]);
    } finally {
      defaults.close();
      theirs.clear();
    }
  });

  it("publishes the event loop's delay, keeps a window's figures when no sample fell since, and stops sampling on close", async () => {
    const registry = new Registry();
    const defaults = registerDefaultMetrics(registry);
    try {
      await busyLoop(120);
      const first = await eventLoopFigures(registry);
      for (const name of EVENT_LOOP) {
        expect(Number.isFinite(first[name]), name).toBe(true);
        expect(first[name], name).toBeGreaterThan(0);
        expect(first[name], name).toBeLessThan(1);
      }
      const f = (s: string): number => first[`nodejs_eventloop_lag_${s}_seconds`]!;
      expect(f("min")).toBeLessThanOrEqual(f("p50"));
      expect(f("p50")).toBeLessThanOrEqual(f("p90"));
      expect(f("p90")).toBeLessThanOrEqual(f("p99"));
      expect(f("p99")).toBeLessThanOrEqual(f("max") * 1.01);
      expect(f("mean")).toBeLessThanOrEqual(f("max"));
      // At once again: no sample since, so no 9.2e9 s minimum, NaN mean or 511 ns percentiles.
      expect(await eventLoopFigures(registry)).toEqual(first);

      await busyLoop(120);
      const second = await eventLoopFigures(registry);
      expect(second).not.toEqual(first);

      defaults.close();
      await busyLoop(120);
      expect(await eventLoopFigures(registry)).toEqual(second);
    } finally {
      defaults.close();
    }
  });
});
