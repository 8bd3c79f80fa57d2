import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDs01Collector } from "../../exporter/ds01/collector";
import { createEventsLog } from "../../exporter/ds01/events-log";
import { createStateFileSource, DEFAULT_STATE_FILE_MAX_CONTAINERS } from "../../exporter/ds01/state-file-source";
import { find, Harness, value } from "./support/metrics-text";

const HOUR = 3600_000;
const line = (type: string, t: number): string => JSON.stringify({ timestamp: new Date(t).toISOString(), event_type: type }) + "\n";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ds01-caps-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("event-type cap", () => {
  it("counts what it drops, and evicts types that left the window so a new type is counted again", async () => {
    const file = path.join(dir, "events.jsonl");
    let clock = Date.parse("2026-06-01T12:00:00Z");
    const t0 = clock;
    // 600 old types fill a cap of 500; 100 are dropped.
    await writeFile(file, Array.from({ length: 600 }, (_, i) => line(`old.type${i}`, t0 - HOUR)).join(""));
    const events = createEventsLog({ path: file, now: () => clock });
    const h = new Harness(createDs01Collector({ events, version: "test" }));
    let { samples } = await h.scrape();
    expect(find(samples, "ds01_events_24h_total").length).toBe(500);
    expect(value(samples, "ds01_exporter_source_dropped_total", { source: "events" })).toBe(100);

    // A day later the old types are out of the window; a new legitimate type arrives.
    clock = t0 + 25 * HOUR;
    await appendFile(file, line("gpu.allocate", clock - 1000));
    ({ samples } = await h.scrape());
    expect(value(samples, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(1);
    // The evicted types' series went with them; the dropped count never goes back.
    expect(find(samples, "ds01_events_24h_total").length).toBeLessThanOrEqual(500);
    expect(value(samples, "ds01_events_24h_total", { event_type: "old.type0" })).toBeUndefined();
    expect(value(samples, "ds01_exporter_source_dropped_total", { source: "events" })).toBe(100);
  });

  it("below the cap, a type whose events left the window still reads 0", async () => {
    const file = path.join(dir, "few.jsonl");
    let clock = Date.parse("2026-06-01T12:00:00Z");
    await writeFile(file, line("container.start", clock - HOUR));
    const h = new Harness(createDs01Collector({ events: createEventsLog({ path: file, now: () => clock }), version: "test" }));
    await h.scrape();
    clock += 25 * HOUR;
    const { samples } = await h.scrape();
    expect(value(samples, "ds01_events_24h_total", { event_type: "container.start" })).toBe(0);
    expect(value(samples, "ds01_exporter_source_dropped_total", { source: "events" })).toBe(0);
  });
});

describe("state-file series cap", () => {
  const stateWith = (containers: number): string =>
    JSON.stringify({
      gpus: Object.fromEntries(
        Array.from({ length: 8 }, (_, g) => [String(g), { type: "physical_gpu", containers: Array.from({ length: containers / 8 }, (_, i) => ({ container: `c${g}-${i}._.1000`, user: `u${i % 50}` })) }]),
      ),
      mig_enabled: false,
    });

  it("publishes at most the cap of containers and counts the rest as dropped", async () => {
    const file = path.join(dir, "small-cap.json");
    await writeFile(file, stateWith(16));
    const h = new Harness(createDs01Collector({ snapshot: createStateFileSource({ path: file, maxContainers: 5 }), version: "test" }));
    const { samples } = await h.scrape();
    expect(find(samples, "ds01_gpu_allocated").length).toBe(5);
    expect(value(samples, "ds01_exporter_source_dropped_total", { source: "state_file" })).toBe(11);
    expect(value(samples, "ds01_exporter_source_up", { source: "state_file" })).toBe(1);
  });

  it("100,000 containers: the default cap holds the page to its bound, and the rest is counted", async () => {
    const file = path.join(dir, "huge.json");
    await writeFile(file, stateWith(100_000));
    const h = new Harness(createDs01Collector({ snapshot: createStateFileSource({ path: file }), version: "test", sourceTimeoutMs: 60_000 }));
    const { text, samples } = await h.scrape();
    expect(find(samples, "ds01_gpu_allocated").length).toBe(DEFAULT_STATE_FILE_MAX_CONTAINERS);
    expect(value(samples, "ds01_exporter_source_dropped_total", { source: "state_file" })).toBe(100_000 - DEFAULT_STATE_FILE_MAX_CONTAINERS);
    expect(text.length).toBeLessThan(8 * 1024 * 1024);
  }, 120_000);
});
