import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Counter, Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { renderMetrics } from "../../exporter/core/render";
import { startExporter, type RunningExporter } from "../../exporter/core/server";
import { setQuietLog } from "../../exporter/core/log";
import { createDs01Collector, createStateFileSource } from "../../exporter/ds01";
import { SeriesGauge } from "../../exporter/ds01/series-gauge";

const TRICKY = ['plain', 'quote " inside', "back\\slash", "new\nline", "unicode é 🚀 ✓", "", "trailing\\", '\\"both\\"'];

const joined = (pieces: ReadonlyArray<string | Buffer>): string => Buffer.concat(pieces.map((p) => (typeof p === "string" ? Buffer.from(p) : p))).toString("utf8");

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe("prerendered exposition", () => {
  it("writes what prom-client's Registry writes, byte for byte, and follows replace()", async () => {
    const registry = new Registry();
    const series = new SeriesGauge<"slot" | "user">({ name: "test_series", help: "help with \\ backslash\nand newline", labelNames: ["slot", "user"], registers: [registry] });
    const empty = new SeriesGauge<"user">({ name: "test_empty", help: "nothing yet", labelNames: ["user"], registers: [registry] });
    const plain = new Gauge({ name: "test_plain", help: "a plain gauge", labelNames: ["k"], registers: [registry] });
    const counter = new Counter({ name: "test_events_total", help: "a counter", registers: [registry] });
    plain.set({ k: 'v"1' }, 2.5);
    counter.inc(3);
    const values = [1, 0, -2, 0.1 + 0.2, 1 / 7, 1e21, NaN, Infinity, -Infinity];
    series.replace(TRICKY.flatMap((user, i) => values.map((value, j) => ({ labels: { slot: `${i}.${j}`, user }, value }))));
    expect(joined(await renderMetrics(registry))).toBe(await registry.metrics());

    const first = series.exposition();
    expect(series.exposition()).toBe(first);
    series.replace([{ labels: { slot: "9", user: "next" }, value: 4 }]);
    empty.replace([{ labels: { user: "x" }, value: 1 }]);
    const text = joined(await renderMetrics(registry));
    expect(text).toBe(await registry.metrics());
    expect(text).toContain('test_series{slot="9",user="next"} 4\n');
    expect(text).not.toContain("quote");
    series.reset();
    expect(joined(await renderMetrics(registry))).toBe(await registry.metrics());
  });

  it("the exporter serves a state file's allocations with tricky names exactly as prom-client writes them", async () => {
    setQuietLog(true);
    const dir = await mkdtemp(path.join(tmpdir(), "ds01-render-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const stateFile = path.join(dir, "gpu-state.json");
    const gpus: Record<string, { type: string; containers: Array<{ container: string; user: string; interface: string }> }> = {};
    for (let i = 0; i < 400; i++) {
      (gpus[`${i % 4}.${i % 7}`] ??= { type: "mig_instance", containers: [] }).containers.push({ container: `job-${i} ${TRICKY[i % TRICKY.length]}`, user: TRICKY[(i >> 3) % TRICKY.length] || "u", interface: "api" });
    }
    await writeFile(stateFile, JSON.stringify({ gpus, mig_enabled: true }));
    const collector = createDs01Collector({ version: "test", snapshot: createStateFileSource({ path: stateFile }) });
    const exporter: RunningExporter = await startExporter({ collectors: [collector], port: 0, defaultMetrics: false });
    cleanups.push(() => exporter.close());
    await exporter.ready;
    const res = await fetch(`${exporter.url}/metrics`);
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(Number(res.headers.get("content-length"))).toBe(Buffer.byteLength(body));
    // Nothing refreshes between the scrape and this call, so prom-client's page is the same page.
    expect(body).toBe(await exporter.registry.metrics());
    expect(body.match(/^ds01_gpu_allocated\{/gm)).toHaveLength(400);
    const head = await fetch(`${exporter.url}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });
});
