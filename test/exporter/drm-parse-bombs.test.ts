import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonShapeProblem } from "../../exporter/core/json-shape";
import { createDrmHttpSource, DRM_JSON_SHAPE } from "../../exporter/drm/http-source";
import { ControlledServer, eventually, httpGet } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const enc = (s: string): Uint8Array => Buffer.from(s);

/** Bodies a broken or hostile coordinator may answer, each far cheaper to send than to parse. */
const BOMBS: Record<string, () => Buffer> = {
  "6 MB of [": () => Buffer.from("[".repeat(6_000_000)),
  "6 MB of {": () => Buffer.from('{"a":'.repeat(1_200_000)),
  "[ and { alternating": () => Buffer.from('[{"a":'.repeat(500_000)),
  "3 million tiny elements": () => Buffer.from("[" + "0,".repeat(3_000_000) + "0]"),
  "300,000 empty arrays": () => Buffer.from("[" + "[],".repeat(300_000) + "[]]"),
  "a valid snapshot with a deep extra field": () => Buffer.from(`{"extra":${"[".repeat(100)}${"]".repeat(100)}}`),
  "400,000 members of one object": () => Buffer.from("{" + Array.from({ length: 400_000 }, (_, i) => `"${i}":0`).join(",") + "}"),
};

describe("JSON shape pre-scan", () => {
  const limits = { maxDepth: 4, maxValues: 20 };

  it("refuses depth and counts past the limits", async () => {
    for (const doc of ["[[[[[1]]]]]", '{"a":{"b":{"c":{"d":{"e":1}}}}}', "[" + "1,".repeat(30) + "1]", "[[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[]]"]) {
      expect(await jsonShapeProblem(enc(doc), limits), doc).toBeDefined();
    }
  });

  it("ignores brackets, braces and commas inside strings, escaped quotes included", async () => {
    for (const doc of ['["[[[[[[[[[[[[,,,,,,,,,,,,,,,,,,,,,,,,"]', '{"k\\"[[[[[[[":"{{{{{{{{{{{{{{"}', '["\\\\", "a\\"[[[[[[[[[[["]']) {
      expect(await jsonShapeProblem(enc(doc), limits), doc).toBeUndefined();
    }
  });

  it("passes a snapshot at the worker bound", async () => {
    const worker = { worker_id: "w", status: "active", cpu_utilization_percent: 1, memory_utilization_percent: 1, gpu_utilization_percent: 1, tasks: 1 };
    const big = JSON.stringify({ workers: Array.from({ length: 10_000 }, (_, i) => ({ ...worker, worker_id: `w${i}` })) });
    expect(await jsonShapeProblem(enc(big), DRM_JSON_SHAPE)).toBeUndefined();
  });
});

describe("DRM source against parse bombs", () => {
  const coordinator = new ControlledServer();
  beforeAll(() => coordinator.start());
  afterAll(() => coordinator.stop());

  for (const [name, body] of Object.entries(BOMBS)) {
    it(`refuses ${name} before parsing it`, async () => {
      const bytes = body();
      coordinator.handler = (_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end(bytes);
      const source = createDrmHttpSource({ url: coordinator.url, timeoutMs: 20_000 });
      await expect(source.read()).rejects.toThrow(/beyond what a snapshot holds: (nesting deeper than|more than)/);
    }, 30_000);
  }
});

describe("DRM polls of 6 MB of [ in a running exporter", () => {
  const coordinator = new ControlledServer();
  let pid = 0;
  let url = "";
  let out = "";

  beforeAll(async () => {
    const bomb = BOMBS["6 MB of ["]!();
    await coordinator.start();
    coordinator.handler = (_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end(bomb);
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "gpu-monitoring.cjs"), "exporter", "--drm-url", coordinator.url, "--metrics-port", "0", "--update-interval", "1"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    await eventually(() => /listening on http:\/\/127\.0\.0\.1:\d+\/metrics \(pid \d+\)/.test(out), 60_000, 100);
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics \(pid (\d+)\)/.exec(out)!;
    url = m[1]!;
    pid = Number(m[2]);
  }, 90_000);
  afterAll(async () => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
    await coordinator.stop();
  });

  it("keeps /-/healthy prompt and RSS low across polls, and says why the source is down", async () => {
    let worst = 0;
    let peak = 0;
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      const started = performance.now();
      expect((await httpGet(`${url}/-/healthy`, { timeoutMs: 5_000 })).status).toBe(200);
      worst = Math.max(worst, performance.now() - started);
      peak = Math.max(peak, Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(coordinator.requests.length).toBeGreaterThanOrEqual(3);
    expect(out).toContain("nesting deeper than");
    expect(worst, `worst /-/healthy ${worst.toFixed(0)} ms`).toBeLessThan(1_000);
    expect(peak, `peak RSS ${peak.toFixed(0)} MiB`).toBeLessThan(200);
  }, 30_000);
});
