import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { setLogSink } from "../../exporter/core/log";
import { startExporter, type RunningExporter } from "../../exporter/core/server";
import { createDrmCollector } from "../../exporter/drm/collector";
import { createDrmHttpSource, DRM_SNAPSHOT_PATH } from "../../exporter/drm/http-source";
import type { DrmSnapshot } from "../../exporter/drm/model";
import { drm } from "../../metrics";
import { ControlledServer, eventually, httpGet, promtoolFindings, samples, value, type Handler } from "./helpers";

const API_KEY = "drm-key-7f3a9c1e5b2d48f6a0c3e9b1d7f5a2c4";
const MAX_BYTES = 64 * 1024;

function payload(over: Partial<DrmSnapshot> = {}): DrmSnapshot {
  return {
    timestamp: 1_790_000_000,
    cpu_utilization_percent: 61.5,
    memory_utilization_percent: 47.25,
    gpu_utilization_percent: 73,
    workers: [
      { worker_id: "worker-01", status: "active", cpu_utilization_percent: 70, memory_utilization_percent: 50, gpu_utilization_percent: 88, tasks: 3 },
      { worker_id: "worker-02", status: "active", cpu_utilization_percent: 53, memory_utilization_percent: 44.5, gpu_utilization_percent: 58, tasks: 2 },
      { worker_id: "worker-03", status: "starting", cpu_utilization_percent: 4, memory_utilization_percent: 12, gpu_utilization_percent: 0, tasks: 0 },
    ],
    active_tasks: 5,
    pending_tasks: 7,
    completed_tasks_total: 1234,
    task_throughput_per_second: 2.5,
    allocation_time_milliseconds: 140,
    resource_efficiency_percent: 62.5,
    scaling_operations_total: [
      { direction: "up", reason: "high_utilization", count: 4 },
      { direction: "down", reason: "low_utilization", count: 2 },
    ],
    alerts_total: [
      { level: "warning", source: "resource_monitor", count: 6 },
      { level: "critical", source: "worker_monitor", count: 1 },
    ],
    ...over,
  };
}

const json =
  (body: unknown, status = 200): Handler =>
  (_req, res) => {
    res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  };

interface Harness {
  coordinator: ControlledServer;
  exporter: RunningExporter;
  logs: string[];
  scrape(): Promise<string>;
  /** Waits until source_up{source="drm"} reads `up` and returns that page. */
  waitUp(up: 0 | 1): Promise<string>;
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function harness(initial: Handler = json(payload()), sourceTimeoutMs = 250): Promise<Harness> {
  const logs: string[] = [];
  const restore = setLogSink((l) => logs.push(l));
  cleanup.push(restore);
  const coordinator = new ControlledServer();
  coordinator.handler = initial;
  await coordinator.start();
  cleanup.push(() => coordinator.stop());
  const source = createDrmHttpSource({ url: coordinator.url, apiKey: API_KEY, timeoutMs: sourceTimeoutMs, maxBytes: MAX_BYTES });
  const exporter = await startExporter({
    collectors: [createDrmCollector({ source, updateIntervalMs: 100, timeoutMs: sourceTimeoutMs + 1_000 })],
    port: 0,
    refreshTimeoutMs: 1_000,
  });
  cleanup.push(() => exporter.close());
  await exporter.ready;
  const scrape = async (): Promise<string> => {
    const res = await httpGet(`${exporter.url}/metrics`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const waitUp = async (up: 0 | 1): Promise<string> => {
    let page = "";
    await eventually(async () => {
      page = await scrape();
      return value(page, "ds01_exporter_source_up", { source: "drm" }) === up;
    }, 5_000);
    return page;
  };
  return { coordinator, exporter, logs, scrape, waitUp };
}

/** The values a failing coordinator must leave in place: those of payload(). */
function expectLastGood(page: string): void {
  expect(value(page, "drm_cpu_utilization_percent")).toBe(61.5);
  expect(value(page, "drm_worker_count")).toBe(3);
  expect(value(page, "drm_completed_tasks_total")).toBe(1234);
  expect(value(page, "drm_worker_tasks", { worker_id: "worker-01" })).toBe(3);
  expect(value(page, "drm_alerts_total", { level: "warning", source: "resource_monitor" })).toBe(6);
  expect(value(page, "ds01_exporter_source_last_success_timestamp_seconds", { source: "drm" })).toBeGreaterThan(0);
}

/** Drives the coordinator into a failure and checks: exporter up, drm down, last good values kept, reason logged. */
async function expectFailure(h: Harness, handler: Handler, reason: RegExp): Promise<string> {
  await h.waitUp(1);
  const errorsBefore = value(await h.scrape(), "ds01_exporter_source_errors_total", { source: "drm" }) ?? 0;
  h.coordinator.handler = handler;
  const page = await h.waitUp(0);
  expect(value(page, "ds01_exporter_source_errors_total", { source: "drm" })).toBeGreaterThan(errorsBefore);
  expectLastGood(page);
  expect((await httpGet(`${h.exporter.url}/-/healthy`)).status).toBe(200);
  expect(h.logs.some((l) => reason.test(l)), `log mentions ${reason}: ${h.logs.join("\n")}`).toBe(true);
  return page;
}

describe("DRM collector against a loopback coordinator", () => {
  it("publishes all 17 drm_* metrics with the coordinator's values and sends the key", async () => {
    const h = await harness();
    const page = await h.waitUp(1);
    expect(value(page, "drm_cpu_utilization_percent")).toBe(61.5);
    expect(value(page, "drm_memory_utilization_percent")).toBe(47.25);
    expect(value(page, "drm_gpu_utilization_percent")).toBe(73);
    expect(value(page, "drm_worker_count")).toBe(3);
    expect(value(page, "drm_active_workers")).toBe(2);
    expect(value(page, "drm_active_tasks")).toBe(5);
    expect(value(page, "drm_pending_tasks")).toBe(7);
    expect(value(page, "drm_completed_tasks_total")).toBe(1234);
    expect(value(page, "drm_task_throughput_per_second")).toBe(2.5);
    expect(value(page, "drm_allocation_time_milliseconds")).toBe(140);
    expect(value(page, "drm_resource_efficiency_percent")).toBe(62.5);
    expect(value(page, "drm_scaling_operations_total", { direction: "up", reason: "high_utilization" })).toBe(4);
    expect(value(page, "drm_scaling_operations_total", { direction: "down", reason: "low_utilization" })).toBe(2);
    expect(value(page, "drm_alerts_total", { level: "critical", source: "worker_monitor" })).toBe(1);
    expect(value(page, "drm_worker_cpu_utilization_percent", { worker_id: "worker-02" })).toBe(53);
    expect(value(page, "drm_worker_memory_utilization_percent", { worker_id: "worker-02" })).toBe(44.5);
    expect(value(page, "drm_worker_gpu_utilization_percent", { worker_id: "worker-01" })).toBe(88);
    expect(value(page, "drm_worker_tasks", { worker_id: "worker-03" })).toBe(0);
    for (const def of Object.values(drm)) {
      expect(samples(page, def.name).length, def.name).toBeGreaterThan(0);
      for (const s of samples(page, def.name)) expect(Object.keys(s.labels).sort()).toEqual([...def.labels].sort());
      expect(page).toContain(`# TYPE ${def.name} ${def.type}`);
    }
    expect(await promtoolFindings(page)).toEqual([]);
    const req: IncomingMessage = h.coordinator.requests[0]!;
    expect(req.url).toBe(DRM_SNAPSHOT_PATH);
    expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(req.headers["x-api-key"]).toBe(API_KEY);
  });

  it("mirrors the coordinator's cumulative totals, including a restart that resets them", async () => {
    const h = await harness();
    await h.waitUp(1);
    h.coordinator.handler = json(
      payload({
        completed_tasks_total: 1300,
        scaling_operations_total: [{ direction: "up", reason: "high_utilization", count: 5 }],
        workers: payload().workers.slice(0, 1),
      }),
    );
    await eventually(async () => value(await h.scrape(), "drm_completed_tasks_total") === 1300);
    let page = await h.scrape();
    expect(value(page, "drm_scaling_operations_total", { direction: "up", reason: "high_utilization" })).toBe(5);
    expect(samples(page, "drm_scaling_operations_total", { direction: "down" })).toHaveLength(0);
    expect(samples(page, "drm_worker_tasks").map((s) => s.labels.worker_id)).toEqual(["worker-01"]);
    // The coordinator restarted: its totals start again and the exporter follows (a counter reset).
    h.coordinator.handler = json(payload({ completed_tasks_total: 3, scaling_operations_total: [], alerts_total: [] }));
    await eventually(async () => value(await h.scrape(), "drm_completed_tasks_total") === 3);
    page = await h.scrape();
    expect(samples(page, "drm_alerts_total")).toHaveLength(0);
  });

  it("shows no drm_* series (only source down) while the coordinator never answered", async () => {
    const h = await harness((_req, res) => res.writeHead(503).end());
    const page = await h.waitUp(0);
    expect(samples(page, "drm_cpu_utilization_percent")).toHaveLength(0);
    expect(samples(page, "ds01_exporter_source_last_success_timestamp_seconds", { source: "drm" })).toHaveLength(0);
    h.coordinator.handler = json(payload());
    const recovered = await h.waitUp(1);
    expect(value(recovered, "drm_cpu_utilization_percent")).toBe(61.5);
  });
});

describe("DRM bad input: the exporter stays up, drm is down, last good values stay", () => {
  it("coordinator down (connection refused)", async () => {
    const h = await harness();
    await h.waitUp(1);
    await h.coordinator.stop();
    const page = await h.waitUp(0);
    expectLastGood(page);
    // The first failed poll may hit the closing keep-alive socket; later ones are refused.
    await eventually(() => h.logs.some((l) => /unreachable: ECONNREFUSED/.test(l)), 3_000);
    expectLastGood(await h.scrape());
  });

  it("coordinator slow (timeout), while scrapes stay fast", async () => {
    const h = await harness(json(payload()), 3_000);
    const stalled: ServerResponse[] = [];
    cleanup.push(() => stalled.forEach((r) => r.destroy()));
    await h.waitUp(1);
    h.coordinator.handler = (_req, res) => void stalled.push(res);
    await eventually(() => stalled.length > 0);
    // A poll hangs on the coordinator for 3 s; scrapes meanwhile do not wait for it.
    const started = Date.now();
    const during = await h.scrape();
    expect(Date.now() - started).toBeLessThan(1_500);
    expectLastGood(during);
    const page = await h.waitUp(0);
    expectLastGood(page);
    expect(h.logs.some((l) => /timed out after 3000 ms/.test(l))).toBe(true);
  });

  it("401: the key is refused", async () => {
    await expectFailure(await harness(), (_req, res) => res.writeHead(401).end("bad key"), /refused the API key \(HTTP 401\)/);
  });

  it("403: the key lacks rights", async () => {
    await expectFailure(await harness(), (_req, res) => res.writeHead(403).end(), /HTTP 403/);
  });

  it("500: the coordinator fails", async () => {
    await expectFailure(await harness(), (_req, res) => res.writeHead(500).end("Traceback ..."), /answered HTTP 500/);
  });

  it("a redirect is not followed", async () => {
    await expectFailure(
      await harness(),
      (_req, res) => res.writeHead(302, { Location: "http://127.0.0.1:9/elsewhere" }).end(),
      /answered HTTP 302/,
    );
  });

  it("garbage instead of JSON", async () => {
    await expectFailure(await harness(), (_req, res) => res.writeHead(200).end("<html>oops</html>"), /not JSON/);
  });

  it("invalid UTF-8 bytes", async () => {
    await expectFailure(await harness(), (_req, res) => res.writeHead(200).end(Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0xc3, 0x28, 0x7d])), /not JSON/);
  });

  it("an empty body", async () => {
    await expectFailure(await harness(), (_req, res) => res.writeHead(200).end(), /not JSON/);
  });

  it("a huge body announced by Content-Length", async () => {
    const big = JSON.stringify(payload({ workers: [] })).padEnd(MAX_BYTES * 4, " ");
    await expectFailure(await harness(), (_req, res) => res.writeHead(200, { "Content-Length": Buffer.byteLength(big) }).end(big), /exceeds 65536/);
  });

  it("a huge chunked body is cut off while streaming", async () => {
    const chunk = "x".repeat(16 * 1024);
    let sent = 0;
    await expectFailure(
      await harness(),
      (_req, res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        // Endless unless the exporter hangs up; bounded anyway so a bug cannot run away.
        const pump = (): void => {
          while (sent < 4096 && res.write(chunk)) sent++;
          if (sent < 4096 && !res.destroyed) res.once("drain", pump);
        };
        res.on("close", () => (sent = 4096));
        pump();
      },
      /body exceeds 65536 bytes/,
    );
  });

  it("JSON of the wrong shape (missing fields)", async () => {
    await expectFailure(await harness(), json({ status: "ok", workers: 3 }), /does not match the schema/);
  });

  it("JSON of the wrong types (string percent, negative and fractional counts)", async () => {
    const bad = { ...payload(), cpu_utilization_percent: "61%", pending_tasks: -1, active_tasks: 2.5 };
    await expectFailure(await harness(), json(bad), /cpu_utilization_percent/);
  });

  it("a top-level array or null", async () => {
    const h = await harness();
    await expectFailure(h, json([payload()]), /does not match the schema/);
    h.coordinator.handler = json(null);
    await h.scrape();
    expectLastGood(await h.scrape());
  });

  it("duplicate worker ids (would collide as series)", async () => {
    const w = payload().workers[0]!;
    await expectFailure(await harness(), json(payload({ workers: [w, w] })), /duplicate worker_id/);
  });

  it("an absurd number of workers (series explosion)", async () => {
    const many = Array.from({ length: 10_001 }, (_, i) => ({ ...payload().workers[0]!, worker_id: `w${i}` }));
    // Fits in a larger cap, so it is the schema, not the size limit, that refuses it.
    const h = await harness();
    await h.waitUp(1);
    h.coordinator.handler = json(payload({ workers: many }));
    const page = await h.waitUp(0);
    expectLastGood(page);
    expect(h.logs.some((l) => /body exceeds|does not match/.test(l))).toBe(true);
  });

  it("label values with quotes, newlines and unicode are escaped, not broken", async () => {
    const h = await harness(
      json(
        payload({
          workers: [{ ...payload().workers[0]!, worker_id: 'gpu "node"\n7 ✓' }],
          alerts_total: [{ level: "warning", source: "a\\b", count: 1 }],
        }),
      ),
    );
    const page = await h.waitUp(1);
    expect(value(page, "drm_worker_tasks", { worker_id: 'gpu "node"\n7 ✓' })).toBe(3);
    expect(value(page, "drm_alerts_total", { source: "a\\b" })).toBe(1);
    expect(await promtoolFindings(page)).toEqual([]);
  });

  it("scrapes arriving while the source fails all succeed, quickly", async () => {
    const h = await harness();
    await expectFailure(h, (_req, res) => res.writeHead(500).end(), /HTTP 500/);
    const started = Date.now();
    const pages = await Promise.all(Array.from({ length: 40 }, () => h.scrape()));
    // A liveness bound (nothing waits on the failing source), loose enough for a loaded machine.
    expect(Date.now() - started).toBeLessThan(15_000);
    for (const page of pages) {
      expect(value(page, "ds01_exporter_source_up", { source: "drm" })).toBe(0);
      expectLastGood(page);
    }
    h.coordinator.handler = json(payload({ cpu_utilization_percent: 12 }));
    const back = await h.waitUp(1);
    expect(value(back, "drm_cpu_utilization_percent")).toBe(12);
  });

  it("never puts the API key in metrics, logs or errors", async () => {
    const h = await harness();
    await expectFailure(h, (_req, res) => res.writeHead(401).end(`invalid key ${API_KEY}`), /HTTP 401/);
    h.coordinator.handler = json({ error: `bad key ${API_KEY}` });
    await eventually(() => h.logs.some((l) => l.includes("does not match")) || h.logs.length > 50, 3_000);
    await h.coordinator.stop();
    await eventually(() => h.logs.some((l) => l.includes("ECONNREFUSED")), 3_000);
    const page = await h.scrape();
    expect(page).not.toContain(API_KEY);
    expect(h.logs.join("\n")).not.toContain(API_KEY);
    expect(h.logs.join("\n")).not.toContain(API_KEY.slice(0, 12));
  });
});
