import { chmod, copyFile, mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManagedProcess } from "../../cli/local/process";
import { freePort } from "../../cli/local/ports";
import { REPO_ROOT } from "../../cli/local/services";
import { waitFor } from "../../cli/local/wait";
import { httpGet, value } from "../exporter/helpers";

const FIXTURES = path.join(__dirname, "fixtures");

/**
 * The exporter as its own process with only fake sinfo/squeue on PATH: squeue answers what a
 * mode file says (the recorded Slurm 22.05 output, truncated output, JSON of another shape, a
 * failing exit, a hang), or is missing. Every case leaves the source down with its reason and
 * the exporter serving.
 */
let dir = "";
let exporter: ManagedProcess | undefined;
let url = "";

async function mode(m: string): Promise<void> {
  await writeFile(path.join(dir, "mode"), m);
}

async function installSqueue(): Promise<void> {
  const script = path.join(dir, "bin", "squeue");
  await writeFile(
    script,
    [
      "#!/bin/sh",
      `case "$(/bin/cat ${dir}/mode)" in`,
      `  good) exec /bin/cat ${dir}/squeue.json ;;`,
      `  truncated) exec /usr/bin/head -c 3000 ${dir}/squeue.json ;;`,
      `  schema) echo '{"meta": {}, "errors": [], "jobs": {"job_id": 1}}' ;;`,
      `  garbage) echo 'JOBID PARTITION NAME USER ST TIME NODES NODELIST(REASON)' ;;`,
      `  fail) echo 'squeue: error: slurm_load_jobs error: Unable to contact slurm controller (connect failure)' >&2; exit 1 ;;`,
      `  hang) exec /bin/sleep 30 ;;`,
      // A wrapper whose child holds the output pipe: only killing the whole group ends the wait.
      `  wrapper-hang) /bin/sleep 30; echo done ;;`,
      "esac",
      "",
    ].join("\n"),
  );
  await chmod(script, 0o755);
}

async function reason(): Promise<string> {
  const r = await httpGet(`${url}/slurm/targets`);
  return r.status === 200 ? "up" : r.body;
}

async function waitForReason(pattern: RegExp): Promise<string> {
  let last = "";
  return waitFor(
    `source down with ${pattern}`,
    async () => {
      last = await reason();
      return pattern.test(last) ? last : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
    () => last,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gm-slurm-fake-"));
  await copyFile(path.join(FIXTURES, "squeue-22.05.json"), path.join(dir, "squeue.json"));
  const bin = path.join(dir, "bin");
  await mkdir(bin);
  await writeFile(path.join(bin, "sinfo"), `#!/bin/sh\nexec /bin/cat ${path.join(FIXTURES, "sinfo-22.05.json")}\n`);
  await chmod(path.join(bin, "sinfo"), 0o755);
  await installSqueue();
  await mode("good");
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  exporter = await ManagedProcess.start(
    "exporter",
    process.execPath,
    [path.join(REPO_ROOT, "bin", "gpu-monitoring.cjs"), "exporter", "--slurm", `--metrics-port=${port}`, "--slurm-interval=1", "--slurm-command-timeout=1", "--slurm-target=svc:8080:job-name=ollama_abc123"],
    { logDir: dir, cwd: REPO_ROOT, env: { ...process.env, PATH: bin } },
  );
  await waitFor("the exporter", async () => ((await httpGet(`${url}/-/ready`).catch(() => undefined))?.status === 200 ? true : undefined), { timeoutMs: 30_000 });
});

afterAll(async () => {
  await exporter?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("SLURM source with broken commands", () => {
  it("reads the recorded Slurm 22.05 output", async () => {
    await waitForReason(/^up$/);
    const page = (await httpGet(`${url}/metrics`)).body;
    expect(value(page, "ds01_exporter_source_up", { source: "slurm" })).toBe(1);
    expect(value(page, "slurm_job_gpus", { job_id: "1", job_name: "ollama_abc123", user: "gpumon-alice", account: "physics", partition: "gpu" })).toBe(1);
    expect(JSON.parse((await httpGet(`${url}/slurm/targets?job=svc`)).body)).toEqual([
      {
        targets: ["127.0.0.1:8080"],
        labels: expect.objectContaining({ __meta_slurm_job_id: "1", __meta_slurm_node: "gpu-node-1" }) as unknown,
      },
    ]);
  });

  const cases: [string, RegExp][] = [
    ["truncated", /squeue --json did not print a JSON document \(3000 bytes/],
    ["schema", /squeue --json output does not match the expected schema: jobs: /],
    ["garbage", /squeue --json did not print a JSON document/],
    ["fail", /squeue exited with status 1: squeue: error: slurm_load_jobs error: Unable to contact slurm controller/],
    ["hang", /squeue timed out after 1000 ms/],
    ["wrapper-hang", /squeue timed out after 1000 ms/],
  ];
  for (const [name, reasonPattern] of cases) {
    it(`${name} output leaves the source down with its reason, the last good values kept, the exporter serving`, { timeout: 30_000 }, async () => {
      await mode(name);
      await waitForReason(reasonPattern);
      const page = (await httpGet(`${url}/metrics`)).body;
      expect(value(page, "ds01_exporter_source_up", { source: "slurm" })).toBe(0);
      expect(value(page, "ds01_exporter_source_errors_total", { source: "slurm" })).toBeGreaterThan(0);
      // The last good poll stays published; discovery refuses rather than serve stale targets.
      expect(value(page, "slurm_job_gpus", { job_id: "1", job_name: "ollama_abc123", user: "gpumon-alice", account: "physics", partition: "gpu" })).toBe(1);
      expect((await httpGet(`${url}/slurm/targets?job=svc`)).status).toBe(503);
      expect(exporter?.running).toBe(true);
      await mode("good");
      await waitForReason(/^up$/);
    });
  }

  it("a missing squeue leaves the source down, and it recovers when squeue is back", { timeout: 30_000 }, async () => {
    await unlink(path.join(dir, "bin", "squeue"));
    await waitForReason(/squeue not found on PATH/);
    expect(exporter?.running).toBe(true);
    await installSqueue();
    await waitForReason(/^up$/);
  });
});
