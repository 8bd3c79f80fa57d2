import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort, startServer, type LoopbackServer } from "./harness";

/** The metrics the fixture target serves, with values the tests can check the CLI's output against. */
export const TARGET_METRICS = `# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-aaaa",modelName="NVIDIA A100-SXM4-40GB",Hostname="gpu01"} 87
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-bbbb",modelName="NVIDIA A100-SXM4-40GB",Hostname="gpu01"} 12
# HELP ds01_gpu_equivalents GPU-equivalents of one allocation.
# TYPE ds01_gpu_equivalents gauge
ds01_gpu_equivalents{gpu_slot="0",profile="full",container="train-alice",user="alice"} 1
ds01_gpu_equivalents{gpu_slot="1.0",profile="3g.20gb",container="nb-bob",user="bob"} 0.428571
# HELP ds01_user_gpu_equivalents GPU-equivalents allocated to a user.
# TYPE ds01_user_gpu_equivalents gauge
ds01_user_gpu_equivalents{user="alice"} 1
ds01_user_gpu_equivalents{user="bob"} 0.428571
# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.
# TYPE node_memory_MemTotal_bytes gauge
node_memory_MemTotal_bytes 1.7179869184e+10
# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.
# TYPE node_memory_MemAvailable_bytes gauge
node_memory_MemAvailable_bytes 4.294967296e+09
`;

export interface PrometheusFixture {
  readonly url: string;
  readonly target: LoopbackServer;
  stop(): Promise<void>;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms; Prometheus said:\n${log().slice(-3000)}`);
}

async function stopByPid(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Debian's Prometheus on a free 127.0.0.1 port with a temp config and data dir, scraping itself
 * and a loopback target serving TARGET_METRICS every second. Ready once both targets are up and
 * the target's series are queryable.
 */
export async function startPrometheus(): Promise<PrometheusFixture> {
  const target = await startServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
    res.end(TARGET_METRICS);
  });
  const dir = await mkdtemp(join(tmpdir(), "gm-prom-"));
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  await writeFile(
    join(dir, "prometheus.yml"),
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: prometheus",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${port}"]`,
      "  - job_name: fixture",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${target.port}"]`,
      "",
    ].join("\n"),
  );
  let log = "";
  const child = spawn(
    "prometheus",
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  const stop = async (): Promise<void> => {
    await stopByPid(child);
    await target.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      "both targets up with three samples each",
      async () => {
        const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent("count(count_over_time(up[1m]) >= 3 and up == 1)")}`, {
          signal: AbortSignal.timeout(1_000),
        });
        const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
        // Both targets up with three samples each: enough for rates and range queries.
        return body.data?.result?.[0]?.value[1] === "2";
      },
      30_000,
      () => log,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, target, stop };
}
