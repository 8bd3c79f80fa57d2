import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGet, value } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts the exporter command from the repository root: through `npx gpu-monitoring` as a user
 * would, or through the same bin script with node directly (quicker, for the many short runs).
 */
function exporterProcess(args: string[], env: NodeJS.ProcessEnv = {}, via: "npx" | "node" = "node"): Run {
  const [cmd, pre] = via === "npx" ? ["npx", ["--no-install", "gpu-monitoring"]] : [process.execPath, [path.join(ROOT, "bin", "gpu-monitoring.cjs")]];
  const child = spawn(cmd, [...pre, "exporter", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** The exporter's own PID as it prints it (under npx it is a grandchild of the spawned process). */
async function exporterPid(run: Run): Promise<number> {
  const [, pid] = await waitFor(run, /listening on \S+ \(pid (\d+)\)/);
  return Number(pid);
}

/** Ends the exporter by its PID if it is still running. */
function stop(pid: number | undefined, signal: NodeJS.Signals = "SIGKILL"): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Waits for exit within `ms`, killing the process (by its PID) if it overstays. */
async function exitCode(run: Run, ms = 100_000): Promise<number | null> {
  const timer = setTimeout(() => run.child.kill("SIGKILL"), ms);
  try {
    return await run.exited;
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(run: Run, re: RegExp, ms = 100_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = re.exec(run.stdout());
    if (m) return m;
    if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`no ${re} in output:\n${run.stdout()}\n${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("npx gpu-monitoring exporter", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "exporter-cli-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("starts via npx in simulation mode on a free port, answers, and stops cleanly on SIGTERM", async () => {
    const run = exporterProcess(["--simulation", "--metrics-port", "0", "--simulate-dcgm-port", "0", "--simulation-seed", "3"], {}, "npx");
    let pid: number | undefined;
    try {
      pid = await exporterPid(run);
      const [, url] = await waitFor(run, /exporter listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics/);
      const [, dcgmUrl] = await waitFor(run, /simulated DCGM listening on (\S+)/);
      const metrics = await httpGet(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(value(metrics.body, "ds01_exporter_source_up", { source: "simulation" })).toBe(1);
      expect(metrics.body).toContain("drm_cpu_utilization_percent");
      expect((await httpGet(`${url}/-/ready`)).status).toBe(200);
      expect((await httpGet(`${url}/nope`)).status).toBe(404);
      expect((await httpGet(dcgmUrl!)).body).toContain("DCGM_FI_DEV_GPU_TEMP");
      stop(pid, "SIGTERM");
      expect(await exitCode(run)).toBe(0);
      expect(run.stderr()).toContain('"msg":"stopping"');
    } finally {
      stop(pid);
      run.child.kill("SIGKILL");
    }
  }, 150_000);

  it("prints help and exits 0", { timeout: 150_000 }, async () => {
    const run = exporterProcess(["--help"]);
    expect(await exitCode(run)).toBe(0);
    for (const flag of ["--metrics-port", "--bind", "--drm-url", "--api-key-file", "--update-interval", "--simulation", "--simulation-overrides", "--simulate-dcgm-port", "--docker-socket", "--state-file", "--device-map", "--nvidia-smi", "--device-map-refresh", "--events-file", "--state-dir"]) {
      expect(run.stdout()).toContain(flag);
    }
  });

  it.each([
    [["--simulation", "--metrics-port", "70000"], /port number/],
    [["--simulation", "--update-interval", "0"], /seconds/],
    [["--simulation", "--no-such-flag"], /unknown option/],
    [["--simulate-dcgm-port", "0", "--drm-url", "http://127.0.0.1:9"], /needs --simulation/],
    [["--docker-socket", "/x.sock", "--state-file", "/y.json"], /either --docker-socket or --state-file/],
    [["--drm-url", "http://127.0.0.1:9", "--device-map", "/x"], /--device-map is only used by --docker-socket or --state-file/],
    [[], /nothing to export/],
  ])("rejects bad flags %j with exit code 2", { timeout: 150_000 }, async (args, message) => {
    const run = exporterProcess(args);
    expect(await exitCode(run)).toBe(2);
    expect(run.stderr()).toMatch(message);
  });

  it("refuses a key on the command line without echoing it", { timeout: 150_000 }, async () => {
    const secret = "cli-secret-4d9e2b7a";
    const run = exporterProcess(["--drm-url", "http://127.0.0.1:9", `--api-key=${secret}`]);
    expect(await exitCode(run)).toBe(2);
    expect(run.stderr()).toMatch(/--api-key-file or DRM_API_KEY/);
    expect(run.stdout() + run.stderr()).not.toContain(secret);
  });

  it("exits 1 when it cannot start: port taken, key file missing", { timeout: 300_000 }, async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = exporterProcess(["--simulation", "--metrics-port", String(port)]);
      expect(await exitCode(run)).toBe(1);
      expect(run.stderr()).toMatch(/EADDRINUSE/);
    } finally {
      blocker.close();
    }
    const missing = exporterProcess(["--drm-url", "http://127.0.0.1:9", "--api-key-file", path.join(dir, "absent")]);
    expect(await exitCode(missing)).toBe(1);
    expect(missing.stderr()).toMatch(/cannot read --api-key-file .*ENOENT/);
  });

  it("reads the key from a file and does not log it", async () => {
    const secret = "file-secret-93be1c0f";
    const keyFile = path.join(dir, "key");
    await writeFile(keyFile, `${secret}\n`, { mode: 0o600 });
    const run = exporterProcess(["--drm-url", "http://127.0.0.1:9", "--api-key-file", keyFile, "--metrics-port", "0", "--update-interval", "1"], {
      DRM_API_KEY: "",
    });
    let pid: number | undefined;
    try {
      pid = await exporterPid(run);
      const [, url] = await waitFor(run, /exporter listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics/);
      const page = (await httpGet(`${url}/metrics`)).body;
      expect(value(page, "ds01_exporter_source_up", { source: "drm" })).toBe(0);
      stop(pid, "SIGINT");
      expect(await exitCode(run)).toBe(0);
      expect(run.stderr()).toMatch(/"apiKey":"set"/);
      expect(run.stderr()).toMatch(/ECONNREFUSED/);
      expect(run.stdout() + run.stderr() + page).not.toContain(secret);
    } finally {
      stop(pid);
      run.child.kill("SIGKILL");
    }
  }, 150_000);
});
