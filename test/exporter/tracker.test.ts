import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { Source } from "../../exporter/core/source";
import { setLogSink } from "../../exporter/core/log";
import { sourceTracker } from "../../exporter/core/tracker";

function scripted<T>(name: string, steps: Array<() => Promise<T>>): Source<T> {
  let i = 0;
  return {
    name,
    read: () => steps[Math.min(i++, steps.length - 1)]!(),
    close: async () => {},
  };
}

async function sample(registry: Registry, metric: string, source: string): Promise<number | undefined> {
  const json = await registry.getMetricsAsJSON();
  const m = json.find((x) => x.name === metric);
  const v = (m?.values as Array<{ labels: Record<string, string | number>; value: number }> | undefined)?.find(
    (x) => x.labels.source === source,
  );
  return v?.value;
}

describe("SourceTracker", () => {
  let restore: (() => void) | undefined;
  afterEach(() => restore?.());

  it("returns fresh values, then the last good one on failure and timeout, and reports health", async () => {
    const lines: string[] = [];
    restore = setLogSink((l) => lines.push(l));
    const registry = new Registry();
    const tracker = sourceTracker(registry);
    expect(sourceTracker(registry)).toBe(tracker);
    const src = scripted<number>("s", [
      async () => 1,
      async () => {
        throw new Error("boom");
      },
      () => new Promise<number>(() => {}),
    ]);
    expect(await tracker.track(src, 50)).toBe(1);
    expect(await sample(registry, "ds01_exporter_source_up", "s")).toBe(1);
    expect(await sample(registry, "ds01_exporter_source_errors_total", "s")).toBe(0);
    const ts = await sample(registry, "ds01_exporter_source_last_success_timestamp_seconds", "s");
    expect(ts).toBeGreaterThan(Date.now() / 1000 - 10);

    expect(await tracker.track(src, 50)).toBe(1);
    expect(await sample(registry, "ds01_exporter_source_up", "s")).toBe(0);
    expect(tracker.status("s")?.lastError).toBe("boom");

    const started = Date.now();
    expect(await tracker.track(src, 50)).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await sample(registry, "ds01_exporter_source_errors_total", "s")).toBe(2);
    expect(await sample(registry, "ds01_exporter_source_last_success_timestamp_seconds", "s")).toBe(ts);
    expect(await tracker.track(src, 50)).toBe(1);
    expect(await sample(registry, "ds01_exporter_source_errors_total", "s")).toBe(3);
    // One line per transition or change of reason, none for a repeat of the same failure.
    const down = lines.filter((l) => l.includes("source down"));
    expect(down).toHaveLength(2);
    expect(down[0]).toContain("boom");
    expect(down[1]).toContain("did not answer within 50 ms");
  });

  it("joins a hung read instead of piling up new ones", async () => {
    restore = setLogSink(() => {});
    const registry = new Registry();
    const tracker = sourceTracker(registry);
    let reads = 0;
    let release: ((v: number) => void) | undefined;
    const src: Source<number> = {
      name: "slow",
      read: () => {
        reads++;
        return new Promise<number>((r) => (release = r));
      },
      close: async () => {},
    };
    expect(await tracker.track(src, 20)).toBeUndefined();
    expect(await tracker.track(src, 20)).toBeUndefined();
    expect(reads).toBe(1);
    const joined = tracker.track(src, 1000);
    release?.(7);
    expect(await joined).toBe(7);
    expect(tracker.status("slow")?.up).toBe(true);
  });

  it("survives a source whose read throws synchronously", async () => {
    restore = setLogSink(() => {});
    const registry = new Registry();
    const tracker = sourceTracker(registry);
    const src: Source<number> = {
      name: "sync",
      read: () => {
        throw new TypeError("not even a promise");
      },
      close: async () => {},
    };
    await expect(tracker.track(src, 50)).resolves.toBeUndefined();
    expect(tracker.status("sync")).toMatchObject({ up: false, errors: 1, lastError: "not even a promise" });
  });
});
