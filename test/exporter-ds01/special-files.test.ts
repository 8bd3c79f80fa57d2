import { execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setLogSink } from "../../exporter/core/log";
import { DeviceMapFile } from "../../exporter/ds01/device-map";
import { createStateFileSource } from "../../exporter/ds01/state-file-source";
import { OverridesFile } from "../../exporter/simulation/overrides";
import { httpGet } from "../exporter/helpers";

const ROOT = path.resolve(__dirname, "..", "..");

/** Makes a path that is not a regular file; each kind is something an operator's typo or an attacker's swap could leave. */
const SPECIALS: Record<string, (at: string, dir: string) => Promise<void>> = {
  "a FIFO": async (at) => void execFileSync("mkfifo", [at]),
  "/dev/zero": (at) => symlink("/dev/zero", at),
  "a directory": (at) => mkdir(at),
  "a symlink to a FIFO": async (at, dir) => {
    const fifo = path.join(dir, `fifo-${path.basename(at)}`);
    execFileSync("mkfifo", [fifo]);
    await symlink(fifo, at);
  },
  "a symlink to a directory": (at) => symlink("/", at),
};

interface Exited {
  out: string;
  code: number | null;
  stopMs: number;
}

/**
 * Runs the exporter with `args`, lets it read its sources for a while, scrapes it, then sends
 * SIGTERM and measures how long it takes to exit (SIGKILL after 10 s, so a hang fails, not stalls).
 */
async function runAndStop(args: string[]): Promise<Exited & { page: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "gpu-monitoring.cjs"), "exporter", "--metrics-port", "0", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const kill = setTimeout(() => child.kill("SIGKILL"), 90_000);
  try {
    const deadline = Date.now() + 60_000;
    let m: RegExpExecArray | null = null;
    while (!(m = /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(out)) && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!m) return { out, code: await exited, stopMs: 0, page: "" };
    // Two scrapes: the second comes after the sources' first failure has been handled.
    await httpGet(`${m[1]}/metrics`, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const page = (await httpGet(`${m[1]}/metrics`, { timeoutMs: 10_000 })).body;
    const started = Date.now();
    child.kill("SIGTERM");
    const stopKill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const code = await exited;
    clearTimeout(stopKill);
    return { out, code, stopMs: Date.now() - started, page };
  } finally {
    clearTimeout(kill);
  }
}

const GOOD_STATE = JSON.stringify({ gpus: { "0": { type: "physical_gpu", containers: [] } }, mig_enabled: false });

describe("sources pointed at special files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "ds01-special-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [name, make] of Object.entries(SPECIALS)) {
    it(`${name} as events log, device map, state file, overrides file and API key file: sources down with a reason, SIGTERM stops within 5 s`, async () => {
      const sub = await mkdtemp(path.join(dir, "case-"));
      const at = (file: string): string => path.join(sub, file);
      const goodState = at("good-state.json");
      await writeFile(goodState, GOOD_STATE);
      for (const f of ["events", "devmap", "state", "overrides", "key"]) await make(at(f), sub);

      const [files, state, simulation] = await Promise.all([
        runAndStop(["--state-file", goodState, "--device-map", at("devmap"), "--events-file", at("events")]),
        runAndStop(["--state-file", at("state")]),
        runAndStop(["--simulation", "--simulation-overrides", at("overrides")]),
      ]);
      for (const run of [files, state, simulation]) {
        expect(run.stopMs, run.out).toBeGreaterThan(0);
        expect(run.stopMs, run.out).toBeLessThan(5_000);
        expect(run.code, run.out).toBe(0);
      }
      expect(files.page).toMatch(/ds01_exporter_source_up\{source="events"\} 0/);
      expect(files.page).toMatch(/ds01_exporter_source_up\{source="state_file"\} 0/);
      expect(files.out).toMatch(/events log \S+ is (a FIFO|a character device|a directory), not a regular file/);
      expect(files.out).toMatch(/device map \S+ is (a FIFO|a character device|a directory), not a regular file/);
      expect(state.page).toMatch(/ds01_exporter_source_up\{source="state_file"\} 0/);
      expect(state.out).toMatch(/state file \S+ is not a regular file|state file is (a FIFO|a character device|a directory)/);
      expect(simulation.out).toMatch(/simulation overrides file is (a FIFO|a character device|a directory), not a regular file/);
      expect(simulation.page).toContain("ds01_gpu_allocated");

      const key = await runAndStop(["--drm-url", "http://127.0.0.1:9", "--api-key-file", at("key")]);
      expect(key.code, key.out).toBe(1);
      expect(key.out).toMatch(/--api-key-file is (a FIFO|a character device|a directory), not a regular file/);
    }, 120_000);
  }
});

describe("files that are not what the key says", () => {
  const SECRET = "hunter2-do-not-echo";
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "ds01-notjson-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a JSON error names the file and position, never the text it read", async () => {
    const logged: string[] = [];
    const restore = setLogSink((line) => logged.push(line));
    try {
      // A key file, a shadow-like file, a half JSON document: what a symlinked path may hold.
      for (const [i, text] of [`root:${SECRET}:0:0`, `{"token": "${SECRET}"`, `{${SECRET}}`, `${SECRET}\n`].entries()) {
        const target = path.join(dir, `secret-${i}`);
        await writeFile(target, text);
        const link = path.join(dir, `link-${i}`);
        await symlink(target, link);
        const errors: string[] = [];
        await createStateFileSource({ path: link })
          .read()
          .catch((e: Error) => errors.push(e.message));
        await new DeviceMapFile(link)
          .load()
          .catch((e: Error) => errors.push(e.message));
        new OverridesFile(link).current();
        expect(errors.length).toBeGreaterThanOrEqual(1);
        for (const message of [...errors, ...logged]) expect(message).not.toContain(SECRET);
        expect(errors[0]).toMatch(/state file is not valid JSON|state file does not match/);
      }
    } finally {
      restore();
    }
  });
});
