import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DemoState } from "../../cli/demo";
import { freePort } from "../../cli/local/ports";
import { PrometheusApi } from "../../cli/local/prometheus-api";
import { sleep, waitFor } from "../../cli/local/wait";

const ROOT = resolve(__dirname, "..", "..");
const BIN = join(ROOT, "bin", "gpu-monitoring.cjs");

/** A child process with everything it printed so far, and a way to wait for a line. */
class Watched {
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.on("data", (b: Buffer) => (this.stdout += b.toString("utf8")));
    child.stderr?.on("data", (b: Buffer) => (this.stderr += b.toString("utf8")));
    this.exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
  }
  get pid(): number {
    if (this.child.pid === undefined) throw new Error("no pid");
    return this.child.pid;
  }
  until(what: string, test: (w: Watched) => boolean, timeoutMs: number): Promise<true> {
    return waitFor(what, () => (test(this) ? true : this.child.exitCode !== null ? Promise.reject(new Error(`exited ${this.child.exitCode}`)) : undefined), { timeoutMs, intervalMs: 200 }, () => `stdout:\n${this.stdout.slice(-3000)}\nstderr:\n${this.stderr.slice(-3000)}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when nothing listens on 127.0.0.1:port (we can bind it ourselves). */
function portFree(port: number): Promise<boolean> {
  return new Promise((r) => {
    const server = createServer();
    server.once("error", () => r(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => r(true)));
  });
}

const started: Watched[] = [];
function start(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Watched {
  // Its own process group, so the cleanup below can end it and anything it left, whatever happens.
  const w = new Watched(spawn(command, [...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true }));
  started.push(w);
  return w;
}

afterEach(async () => {
  for (const w of started.splice(0)) {
    if (w.child.exitCode === null && w.child.signalCode === null) {
      try {
        process.kill(-w.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
});

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gm-demo-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("gpu-monitoring demo", () => {
  it("brings every target up, delivers a simulated alert to its receiver, and leaves nothing behind on SIGTERM", async () => {
    const dataDir = join(tmp, "demo");
    const t0 = Date.now();
    const demo = start(process.execPath, [BIN, "demo", "--data-dir", dataDir, "--no-grafana"]);
    await demo.until("the demo to say the stack is up", (w) => w.stdout.includes("The stack is up:"), 120_000);
    const state = JSON.parse(await readFile(join(dataDir, "demo.json"), "utf8")) as DemoState;
    const upAfter = state.targetsUpAfterSeconds ?? Number.NaN;
    console.log(`demo: every target up ${upAfter.toFixed(1)}s after start (${((Date.now() - t0) / 1000).toFixed(1)}s including node's start-up)`);
    expect(upAfter).toBeLessThan(60);
    expect(demo.stdout).toContain("Grafana: not started");
    expect(demo.stderr).toMatch(/all \d+ targets up after/);

    // Prometheus agrees: every job the bundle scrapes is up, the simulated DCGM endpoint included.
    const prometheusUrl = state.urls["prometheus"] ?? "";
    const targets = await new PrometheusApi(prometheusUrl).activeTargets();
    expect(targets.map((t) => t.labels["job"]).sort()).toEqual(["alertmanager", "dcgm-exporter", "ds01-exporter", "node-exporter", "prometheus"]);
    for (const t of targets) expect(t.health, t.scrapeUrl).toBe("up");
    for (const t of targets) expect(t.scrapeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);

    // A GPU at 95 °C through the overrides file the demo named: the alert reaches the demo's receiver.
    expect(demo.stdout).toContain(state.overridesFile);
    const tmpFile = `${state.overridesFile}.tmp`;
    await writeFile(tmpFile, JSON.stringify({ gpus: { "3": { temperature: 95 } } }));
    await rename(tmpFile, state.overridesFile);
    await demo.until("DS01GPUCriticalTemperature at the demo's receiver", (w) => /alert FIRING DS01GPUCriticalTemperature \(critical\).*gpu=3/.test(w.stdout), 120_000);

    const ports = Object.values(state.urls).map((u) => Number(new URL(u).port));
    expect(state.processes.map((p) => p.name).sort()).toEqual(["alertmanager", "exporter", "node-exporter", "prometheus"]);
    for (const p of state.processes) expect(alive(p.pid), p.name).toBe(true);

    process.kill(demo.pid, "SIGTERM");
    const exit = await demo.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    for (const p of state.processes) expect(alive(p.pid), `${p.name} (pid ${p.pid}) still running`).toBe(false);
    for (const port of ports) expect(await portFree(port), `port ${port} still taken`).toBe(true);
    expect(existsSync(join(dataDir, "demo.json"))).toBe(false);
    expect(existsSync(join(dataDir, "data", "prometheus"))).toBe(true);
  }, 300_000);

  it("starts a Grafana found on PATH, provisioned with the rendered datasources and dashboards", async () => {
    // No Grafana server can run here: a stand-in `grafana-server` on PATH records how it was
    // started and answers /api/health and /metrics the way Grafana does.
    const bin = join(tmp, "grafana-bin");
    await mkdir(bin, { recursive: true });
    const standIn = join(bin, "grafana-server");
    await writeFile(
      standIn,
      `#!${process.execPath}
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
fs.writeFileSync(path.join(process.env.GF_PATHS_DATA, "stand-in.json"), JSON.stringify({ argv: process.argv.slice(2), env: process.env }));
http.createServer((req, res) => {
  if (req.url === "/api/health") { res.writeHead(200, { "content-type": "application/json" }); res.end('{"database":"ok"}'); return; }
  if (req.url === "/metrics") { res.writeHead(200, { "content-type": "text/plain" }); res.end("grafana_build_info 1\\n"); return; }
  res.writeHead(404); res.end();
}).listen(Number(process.env.GF_SERVER_HTTP_PORT), process.env.GF_SERVER_HTTP_ADDR);
process.on("SIGTERM", () => process.exit(0));
`,
    );
    await chmod(standIn, 0o755);
    const dataDir = join(tmp, "with-grafana");
    const demo = start(process.execPath, [BIN, "demo", "--data-dir", dataDir], { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` });
    await demo.until("the demo to say the stack is up", (w) => w.stdout.includes("The stack is up:"), 120_000);
    const state = JSON.parse(await readFile(join(dataDir, "demo.json"), "utf8")) as DemoState;
    expect(state.processes.map((p) => p.name)).toContain("grafana");
    const grafanaUrl = state.urls["grafana"] ?? "";
    expect(demo.stdout).toMatch(new RegExp(`Grafana\\s+${grafanaUrl.replace(/[.]/g, "\\.")} \\(user admin, password in .*grafana-admin-password\\)`));
    expect(demo.stdout).not.toContain("Grafana: not started");

    const recorded = JSON.parse(await readFile(join(dataDir, "data", "grafana", "stand-in.json"), "utf8")) as { env: Record<string, string> };
    const password = (await readFile(join(dataDir, "grafana-admin-password"), "utf8")).trim();
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect((await stat(join(dataDir, "grafana-admin-password"))).mode & 0o777).toBe(0o600);
    expect(recorded.env["GF_SECURITY_ADMIN_PASSWORD"]).toBe(password);
    expect(demo.stdout + demo.stderr).not.toContain(password);
    expect(recorded.env["GF_SERVER_HTTP_ADDR"]).toBe("127.0.0.1");
    const provisioning = recorded.env["GF_PATHS_PROVISIONING"] ?? "";
    const datasources = await readFile(join(provisioning, "datasources", "datasources.yml"), "utf8");
    expect(datasources).toContain(`url: ${state.urls["prometheus"]}`);
    expect(datasources).toContain(`url: ${state.urls["alertmanager"]}`);
    const provider = parseYaml(await readFile(join(provisioning, "dashboards", "default.yml"), "utf8")) as { providers: { options: { path: string } }[] };
    const dashboards = await readdir(provider.providers[0]?.options.path ?? "");
    expect(dashboards.filter((f) => f.endsWith(".json")).length).toBeGreaterThanOrEqual(6);
    // Prometheus scrapes it like the rest.
    const targets = await new PrometheusApi(state.urls["prometheus"] ?? "").activeTargets();
    expect(targets.find((t) => t.labels["job"] === "grafana")?.health).toBe("up");

    process.kill(demo.pid, "SIGTERM");
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    for (const p of state.processes) expect(alive(p.pid), p.name).toBe(false);
  }, 300_000);

  it("names the packages to install when a server program is not on PATH, and starts nothing", async () => {
    const dataDir = join(tmp, "nothing");
    const demo = start(process.execPath, [BIN, "demo", "--data-dir", dataDir], { PATH: join(tmp, "empty-path"), HOME: tmp });
    const exit = await demo.exited;
    expect(exit.code).toBe(1);
    expect(demo.stderr).toContain("not found on PATH: prometheus (apt-get install prometheus)");
    expect(demo.stderr).toContain("prometheus-alertmanager or alertmanager");
    expect(demo.stderr).toContain("next: sudo apt-get install prometheus prometheus-alertmanager prometheus-node-exporter");
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});

describe("the exporter started through npx", () => {
  it("stops and frees its ports when the npx process that started it is killed", async () => {
    const port = await freePort();
    const npx = start("npx", ["--no-install", "gpu-monitoring", "exporter", "--simulation", "--metrics-port", String(port)], { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? tmp });
    await waitFor(
      `the exporter on :${port}`,
      async () => ((await fetch(`http://127.0.0.1:${port}/-/healthy`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok).catch(() => false)) ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 250 },
      () => npx.stderr.slice(-2000),
    );
    // `kill $!` after `npx gpu-monitoring exporter &`: the signal goes to npm alone.
    process.kill(npx.pid, "SIGTERM");
    await npx.exited;
    await waitFor(`port ${port} to be free`, async () => ((await portFree(port)) ? true : undefined), { timeoutMs: 10_000, intervalMs: 200 });
    await sleep(100);
    expect(await portFree(port)).toBe(true);
  }, 90_000);
});
