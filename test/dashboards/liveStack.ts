import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { freePort } from "../../cli/local/ports";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { alertingSchema } from "../../alerts";
import { renderGroups } from "../../alerts/render";
import { DEFAULT_JOB_NAMES } from "../../alerts/context";
import type { RuleGroup } from "../../alerts/model";
import { containerRecordingGroups } from "../../alerts/rules/container-recording";
import { dcgmRecordingGroups } from "../../alerts/rules/dcgm-recording";
import { ds01RecordingGroups } from "../../alerts/rules/ds01-recording";
import { hostCpuRecordingGroups } from "../../alerts/rules/stack";
import { defaultThresholds } from "../../metrics/thresholds";
import { fixtureExposition } from "./exposition";

/**
 * Real Prometheus 2.42, Alertmanager and node-exporter from Debian's packages, plus a loopback
 * target serving the fixture GPU site, all on free 127.0.0.1 ports with temp dirs. Prometheus
 * scrapes every second and evaluates one small rule group, so rule metrics exist too.
 */
export interface LiveStack {
  readonly prometheusUrl: string;
  query(expr: string): Promise<PromResult>;
  queryRange(expr: string, seconds: number): Promise<PromResult>;
  stop(): Promise<void>;
}

export interface PromSeries {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: [number, string][];
}

export type PromResult =
  | { readonly ok: true; readonly resultType: string; readonly series: readonly PromSeries[] }
  | { readonly ok: false; readonly error: string };

interface Proc {
  readonly child: ChildProcess;
  log: string;
}

function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const proc: Proc = { child, log: "" };
  const keep = (d: Buffer) => {
    proc.log = (proc.log + d.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return proc;
}

async function stopProc(p: Proc): Promise<void> {
  const { child } = p;
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms:\n${log().slice(-3000)}`);
}

async function get(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return res.json();
}

interface ApiResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: PromSeries[] | [number, string] };
}

function toResult(body: ApiResponse): PromResult {
  if (body.status !== "success" || !body.data) return { ok: false, error: body.error ?? "unknown error" };
  const r = body.data.result;
  // Scalars come back as [time, value]; present them as one series without labels.
  const series = body.data.resultType === "scalar" ? [{ metric: {}, value: r as [number, string] }] : (r as PromSeries[]);
  return { ok: true, resultType: body.data.resultType, series };
}

export async function startLiveStack(): Promise<LiveStack> {
  const dir = await mkdtemp(join(tmpdir(), "dash-live-"));
  const procs: Proc[] = [];
  let target: Server | undefined;
  const stop = async () => {
    for (const p of procs.reverse()) await stopProc(p);
    if (target) await new Promise<void>((r) => target?.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    let tick = 0;
    target = createServer((req, res) => {
      if (req.url === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(fixtureExposition(tick++));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => target?.listen(0, "127.0.0.1", () => r()));
    const addr = target.address();
    const targetPort = typeof addr === "object" && addr ? addr.port : 0;

    const [promPort, amPort, nodePort] = [await freePort(), await freePort(), await freePort()];
    await writeFile(join(dir, "alertmanager.yml"), "route:\n  receiver: none\nreceivers:\n  - name: none\n");
    const am = start("prometheus-alertmanager", [
      `--config.file=${join(dir, "alertmanager.yml")}`,
      `--storage.path=${join(dir, "am")}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      "--cluster.listen-address=",
    ]);
    procs.push(am);
    const nodeExporter = start("prometheus-node-exporter", [`--web.listen-address=127.0.0.1:${nodePort}`]);
    procs.push(nodeExporter);

    // The fixture target serves most DS01 and DRM recorded series itself; the host's, the cleaned
    // DCGM fields, the per-container cAdvisor series and DS01's slot mapping (the MIG join) are recorded here by the stack's own rules,
    // evaluated every second rather than every 30.
    const alerting = alertingSchema.parse(undefined);
    const slotMapping = ds01RecordingGroups({ thresholds: defaultThresholds(), jobs: DEFAULT_JOB_NAMES, ruleSets: alerting.ruleSets }).filter((g) => g.name === "ds01_slot_mapping");
    const everySecond = (groups: RuleGroup[]): RuleGroup[] => groups.map((g) => ({ ...g, interval: "1s" }));
    const hostRules = parse(renderGroups(everySecond([...hostCpuRecordingGroups(), ...dcgmRecordingGroups(), ...containerRecordingGroups(), ...slotMapping]), alerting)) as { groups: unknown[] };
    await writeFile(
      join(dir, "rules.yml"),
      stringify({ groups: [{ name: "fixture", rules: [{ record: "fixture:up:sum", expr: "sum(up)" }] }, ...hostRules.groups] }),
    );
    const job = (name: string, port: number) => `  - job_name: ${name}\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`;
    await writeFile(
      join(dir, "prometheus.yml"),
      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n" +
        `alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ["127.0.0.1:${amPort}"]\n` +
        `rule_files:\n  - ${join(dir, "rules.yml")}\n` +
        "scrape_configs:\n" +
        job("prometheus", promPort) +
        job("alertmanager", amPort) +
        job("node", nodePort) +
        job("gpu-site", targetPort),
    );
    const prom = start("prometheus", [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      "--rules.alert.resend-delay=1s",
    ]);
    procs.push(prom);
    const url = `http://127.0.0.1:${promPort}`;
    const logs = () => procs.map((p) => p.log).join("\n---\n");

    await waitFor(
      "all four targets up",
      async () => {
        const body = (await get(`${url}/api/v1/query?query=${encodeURIComponent("sum(up)")}`)) as ApiResponse;
        const r = toResult(body);
        return r.ok && r.series.length === 1 && Number(r.series[0]?.value?.[1]) === 4;
      },
      30_000,
      logs,
    );
    const atLeast = (what: string, expr: string, min: number) =>
      waitFor(
        what,
        async () => {
          const r = toResult((await get(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)) as ApiResponse);
          return r.ok && Number(r.series[0]?.value?.[1]) >= min;
        },
        30_000,
        logs,
      );
    // Counters need two samples in the window before rate() and increase() return anything.
    await atLeast("two samples of every counter", "count_over_time(drm_completed_tasks_total[1m])", 3);
    await atLeast("the host CPU recording rule", "count(instance_mode:node_cpu_busy_percent:rate5m)", 1);
    await atLeast("the cleaned DCGM recordings", "count(gpu:DCGM_FI_DEV_GPU_TEMP:measured)", 1);
    await atLeast("DS01's slot mapping", "count(ds01:gpu_memory_percent_by_slot)", 1);
    await atLeast("the per-container recordings", "count(name:container_cpu_usage_seconds:rate5m)", 1);

    const query = async (expr: string): Promise<PromResult> =>
      toResult((await get(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)) as ApiResponse);
    const queryRange = async (expr: string, seconds: number): Promise<PromResult> => {
      const end = Date.now() / 1000;
      const params = new URLSearchParams({ query: expr, start: String(end - seconds), end: String(end), step: "1" });
      return toResult((await get(`${url}/api/v1/query_range?${params.toString()}`)) as ApiResponse);
    };
    return { prometheusUrl: url, query, queryRange, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
