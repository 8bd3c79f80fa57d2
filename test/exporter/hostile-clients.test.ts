import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Collector } from "../../exporter/core/collector";
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from "../../exporter/core/http-limits";
import { setLogSink } from "../../exporter/core/log";
import { startExporter, type RunningExporter } from "../../exporter/core/server";
import { httpGet } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const PIPELINED_GET = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/** Resident memory of a process, in MiB, from /proc. */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/** Opens a connection that sends `payload` and never reads a byte of the answer. */
function nonReader(port: number, payload: string): Socket {
  const s = connect(port, "127.0.0.1");
  s.pause();
  s.on("error", () => {});
  s.write(payload);
  return s;
}

/** Bytes a raw connection receives until it closes (or `ms` pass), and whether it was closed by the server. */
function rawExchange(port: number, payload: string | string[], ms = 5_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, ms);
    s.on("data", (d: Buffer) => (text += d.toString("latin1")));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    const parts = Array.isArray(payload) ? payload : [payload];
    // Parts go out in separate writes a little apart, so the server sees them in separate reads.
    parts.forEach((p, i) => setTimeout(() => s.writable && s.write(p), i * 30));
  });
}

function statusLines(text: string): string[] {
  return text.match(/HTTP\/1\.1 \d{3}/g) ?? [];
}

describe("exporter under hostile clients (separate process)", () => {
  let child: ChildProcess;
  let pid = 0;
  let metricsPort = 0;
  let dcgmPort = 0;
  const hostile: Socket[] = [];

  beforeAll(async () => {
    child = spawn(process.execPath, [path.join(ROOT, "bin", "gpu-monitoring.cjs"), "exporter", "--simulation", "--metrics-port", "0", "--simulate-dcgm-port", "0"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/metrics \(pid (\d+)\)/.exec(out);
      const d = /simulated DCGM listening on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(out);
      if (m && d) {
        metricsPort = Number(m[1]);
        pid = Number(m[2]);
        dcgmPort = Number(d[1]);
        break;
      }
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`exporter did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await httpGet(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
  }, 90_000);

  afterAll(() => {
    for (const s of hostile) s.destroy();
    if (pid) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  });

  it("50 connections pipelining 5,000 scrapes each without reading keep RSS under 200 MB; normal scrapes still answer", async () => {
    const baseline = rssMiB(pid);
    const flood = PIPELINED_GET.repeat(5_000);
    for (let i = 0; i < 50; i++) hostile.push(nonReader(i % 2 === 0 ? metricsPort : dcgmPort, flood));
    let peak = baseline;
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      peak = Math.max(peak, rssMiB(pid));
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = Date.now();
    const scrape = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`, { timeoutMs: 5_000 });
    const dcgm = await httpGet(`http://127.0.0.1:${dcgmPort}/metrics`, { timeoutMs: 5_000 });
    const scrapeMs = Date.now() - started;
    peak = Math.max(peak, rssMiB(pid));
    expect(scrape.status).toBe(200);
    expect(scrape.body).toContain("ds01_exporter_scrape_duration_seconds");
    expect(dcgm.status).toBe(200);
    expect(dcgm.body).toContain("DCGM_FI_DEV_GPU_TEMP");
    expect(scrapeMs).toBeLessThan(5_000);
    expect(peak, `baseline ${baseline.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB`).toBeLessThan(200);
  }, 60_000);
});

describe("exporter HTTP limits (in process)", () => {
  let exporter: RunningExporter;
  let restoreLog: () => void;
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, maxConnections: 4, maxPipelined: 3, headersTimeoutMs: 600, requestTimeoutMs: 1_500, idleTimeoutMs: 1_500 };
  const idle: Collector = { name: "idle", register() {}, async refresh() {}, async close() {} };

  beforeAll(async () => {
    restoreLog = setLogSink(() => {});
    exporter = await startExporter({ collectors: [idle], port: 0, defaultMetrics: false, httpLimits: limits });
    await exporter.ready;
  });
  afterAll(async () => {
    await exporter.close();
    restoreLog();
  });

  it("answers pipelined requests within the bound, in order; past it closes the connection", async () => {
    const within = await rawExchange(exporter.port, "GET /-/healthy HTTP/1.1\r\nHost: a\r\n\r\nGET /-/ready HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    expect(statusLines(within.text)).toEqual(["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 404"]);
    const past = await rawExchange(exporter.port, "GET /-/healthy HTTP/1.1\r\nHost: a\r\n\r\n".repeat(50));
    expect(past.closed).toBe(true);
    expect(statusLines(past.text).length).toBeLessThanOrEqual(limits.maxPipelined + 1);
  });

  it("parses a header block split anywhere across reads", async () => {
    const request = "GET /-/healthy HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    // Splits inside the final CRLF CRLF and elsewhere (7 hostile fragmentations).
    for (const cut of [1, 10, request.length - 1, request.length - 2, request.length - 3, request.length - 4]) {
      const res = await rawExchange(exporter.port, [request.slice(0, cut), request.slice(cut)]);
      expect(statusLines(res.text), `cut at ${cut}`).toEqual(["HTTP/1.1 200"]);
    }
    const bytewise = await rawExchange(exporter.port, request.split("").slice(0, 20).concat(request.slice(20)));
    expect(statusLines(bytewise.text)).toEqual(["HTTP/1.1 200"]);
  });

  it("answers other methods 405 and closes, whatever body they carry", async () => {
    for (const body of ["x".repeat(10), "a\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n", "\0".repeat(100)]) {
      const res = await rawExchange(exporter.port, `POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      expect(statusLines(res.text)).toEqual(["HTTP/1.1 405"]);
      expect(res.closed).toBe(true);
    }
  });

  it("closes a connection that trickles its headers past the header timeout", async () => {
    const started = Date.now();
    const res = await rawExchange(exporter.port, ["GET /metrics HTTP/1.1\r\n", "X-a: 1\r\n", "X-b: 2\r\n"], 8_000);
    expect(res.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("closes a connection that sends nothing", async () => {
    const silent = await rawExchange(exporter.port, [], 8_000);
    expect(silent.closed).toBe(true);
  });

  it("caps open connections; once they go, a normal request answers again", async () => {
    const held: Socket[] = [];
    for (let i = 0; i < limits.maxConnections + 6; i++) held.push(nonReader(exporter.port, "GET /metrics HTTP/1.1\r\n"));
    await new Promise((r) => setTimeout(r, 300));
    const refused = await rawExchange(exporter.port, "GET /-/healthy HTTP/1.1\r\nHost: a\r\n\r\n", 1_000);
    expect(statusLines(refused.text)).toEqual([]);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect((await httpGet(`${exporter.url}/-/healthy`)).status).toBe(200);
  });

  it("rejects malformed request lines and headers without harm", async () => {
    const bad = [
      "\r\n\r\n",
      "GARBAGE\r\n\r\n",
      "GET\r\n\r\n",
      "GET /metrics HTTP/9.9\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
      `GET /metrics HTTP/1.1\r\nHost: a\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
      `GET /${"a".repeat(70_000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
      "GET /metrics HTTP/1.1\r\nHo\0st: a\r\n\r\n",
    ];
    for (const payload of bad) {
      const res = await rawExchange(exporter.port, payload, 3_000);
      expect(res.closed, JSON.stringify(payload.slice(0, 40))).toBe(true);
    }
    expect((await httpGet(`${exporter.url}/metrics`)).status).toBe(200);
  });
});
