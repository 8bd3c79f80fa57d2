import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { buildExporter, type ExporterBuild, type NodeRuntime } from "./exporter-build";
import { Dockerd } from "../test/exporter-ds01/support/dockerd";

/**
 * `npm run bench`: the DS01 exporter's scrape latency and memory with 100 / 1,000 / 10,000
 * allocations (state-file source and a real Docker engine), 10,000 allocations with 1M events in
 * the log, the events log's initial scan rate, and 50 concurrent scrapers. Every figure is the
 * median of BENCH_RUNS runs, each against a freshly started exporter process, started with the
 * node flags and environment of the exporter's image (exporter/Dockerfile).
 *
 * Environment: BENCH_RUNS (3), BENCH_SCRAPES per run (1000: a p99 read from its 10 slowest, not its 3), BENCH_CONCURRENCY_SECONDS (30),
 * BENCH_DOCKER_SIZES (100,1000), BENCH_EVENTS (1000000). Side by side instead (see compare()):
 * BENCH_BASELINE=<git ref> measures the exporter as that commit had it against the working tree;
 * BENCH_NODE_FLAGS compares runtimes of the working tree's exporter (with BENCH_BASELINE too: the
 * baseline, then the working tree under each runtime).
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 1000);
const CONCURRENCY_SECONDS = Number(process.env.BENCH_CONCURRENCY_SECONDS ?? 30);
const CONCURRENT_SCRAPERS = 50;
const DOCKER_SIZES = (process.env.BENCH_DOCKER_SIZES ?? "100,1000").split(",").map(Number).filter((n) => n > 0);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const STATE_SIZES = [100, 1000, 10_000];
const GPUS = 8;
const MIGS_PER_GPU = 7;

interface ScrapeFigures {
  p50Ms: number;
  p99Ms: number;
  /** The exporter process's CPU time per scrape: a figure that load on the machine disturbs less than latency. */
  cpuMsPerScrape: number;
  rssMb: number;
  /** Of rssMb: the process's own memory (heap, stacks) and the pages of files mapped in (node's binary and libraries, shared with every node process). */
  rssAnonMb: number;
  rssFileMb: number;
  readyMs: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

const migUuid = (gpu: number, dev: number): string => `MIG-${String(gpu).padStart(8, "0")}-0000-0000-0000-${String(dev).padStart(12, "0")}`;
const gpuUuid = (gpu: number): string => `GPU-${String(gpu).padStart(8, "0")}-0000-0000-0000-000000000000`;

async function writeDeviceMap(file: string): Promise<void> {
  const lines: string[] = [];
  for (let g = 0; g < GPUS; g++) {
    lines.push(`GPU ${g}: NVIDIA A100-SXM4-80GB (UUID: ${gpuUuid(g)})`);
    for (let d = 0; d < MIGS_PER_GPU; d++) lines.push(`  MIG 1g.10gb     Device  ${d}: (UUID: ${migUuid(g, d)})`);
  }
  await writeFile(file, lines.join("\n") + "\n");
}

/** n allocations over 56 MIG slots: many more containers than a host holds, to load the exporter. */
async function writeStateFile(file: string, n: number): Promise<void> {
  const gpus: Record<string, { type: string; containers: unknown[] }> = {};
  const interfaces = ["orchestration", "atomic", "api", "other"];
  for (let i = 0; i < n; i++) {
    const slot = `${(i >> 3) % GPUS}.${i % MIGS_PER_GPU}`;
    (gpus[slot] ??= { type: "mig_instance", containers: [] }).containers.push({
      container: `job-${i}._.${1000 + (i % 200)}`,
      user: `user${i % 200}`,
      allocated_at: "2026-01-01T00:00:00Z",
      interface: interfaces[i % interfaces.length],
      status: i % 5 === 0 ? "exited" : "running",
    });
  }
  await writeFile(file, JSON.stringify({ gpus, mig_enabled: true, last_updated: new Date().toISOString() }));
}

const EVENT_TYPES = [
  "gpu.allocate", "gpu.release", "gpu.reserve", "gpu.mig_reconfigure", "container.create", "container.start",
  "container.stop", "container.remove", "container.restart", "container.oom", "maintenance.idle_kill",
  "maintenance.cleanup", "maintenance.backup", "user.login", "user.quota_exceeded", "user.created",
  "system.reboot", "system.update", "api.request", "api.error",
];

/** n events spread evenly over the last 23 hours, in order, as DS01 writes them. */
async function writeEventsFile(file: string, n: number): Promise<number> {
  const out = createWriteStream(file);
  const end = Date.now() - 60_000;
  const start = end - 23 * 3600_000;
  let batch: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = new Date(start + ((end - start) * i) / n).toISOString();
    batch.push(
      JSON.stringify({
        timestamp: t,
        event_type: EVENT_TYPES[i % EVENT_TYPES.length],
        user: `user${i % 200}`,
        source: "ds01-allocator",
        details: { container: `job-${i % 5000}._.${1000 + (i % 200)}`, gpu_slot: `${i % GPUS}.${i % MIGS_PER_GPU}` },
        schema_version: 1,
      }),
    );
    if (batch.length === 10_000) {
      if (!out.write(batch.join("\n") + "\n")) await once(out, "drain");
      batch = [];
    }
  }
  if (batch.length) out.write(batch.join("\n") + "\n");
  out.end();
  await once(out, "finish");
  return (await stat(file)).size;
}

function httpGet(agent: http.Agent, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("scrape timed out")));
    req.on("error", reject);
  });
}

interface Child {
  proc: ChildProcess;
  url: string;
  readyMs: number;
}

/** The exporter's flags for a measured configuration. */
const CLI_FLAGS: Record<string, string> = {
  stateFile: "--state-file",
  dockerSocket: "--docker-socket",
  deviceMap: "--device-map",
  eventsFile: "--events-file",
  stateDir: "--state-dir",
};

/**
 * Starts the image's bundle with its command-line flags, in its own node process with its
 * image's runtime unless one is given, and waits until a scrape holds `expect` (the first
 * refresh done and its sources read): readyMs is the time from start to that scrape.
 */
async function startChild(build: ExporterBuild, config: Record<string, string>, expect: string, runtime: NodeRuntime = build.runtime): Promise<Child> {
  const flags = Object.entries(config).map(([key, value]) => {
    const flag = CLI_FLAGS[key];
    if (!flag) throw new Error(`no exporter flag for ${key}`);
    return `${flag}=${value}`;
  });
  const started = performance.now();
  const proc = spawn(process.execPath, [...runtime.flags, build.exporter, "--metrics-port=0", "--bind=127.0.0.1", ...flags], {
    cwd: path.dirname(build.exporter),
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...runtime.env },
  });
  // Read to the end, so the exporter never blocks on a full pipe; its log stays out of the figures.
  let output = "";
  const keep = (c: Buffer): void => {
    if (output.length < 64 * 1024) output += c.toString("utf8");
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const exited = once(proc, "exit").then(([code]) => {
    throw new Error(`exporter exited with ${String(code)}: ${output.slice(-2000)}`);
  });
  const deadline = performance.now() + 300_000;
  const listening = async (): Promise<string> => {
    for (;;) {
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
      if (m) return m[1]!;
      if (performance.now() > deadline) throw new Error("exporter not listening in 300 s");
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const agent = new http.Agent({ keepAlive: false });
  try {
    const url = await Promise.race([listening(), exited]);
    for (;;) {
      const page = await Promise.race([httpGet(agent, `${url}/metrics`), exited]);
      if (page.status === 200 && page.body.includes(expect)) return { proc, url, readyMs: performance.now() - started };
      if (performance.now() > deadline) throw new Error(`no scrape with ${expect} in 300 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err: unknown) {
    proc.kill("SIGKILL");
    throw err;
  } finally {
    agent.destroy();
    exited.catch(() => undefined);
  }
}

async function stopChild(child: Child): Promise<void> {
  if (child.proc.exitCode !== null) return;
  const exited = once(child.proc, "exit");
  child.proc.kill("SIGTERM");
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** utime + stime of a process in ms (clock ticks are 10 ms on Linux). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Resident {
  rssMb: number;
  rssAnonMb: number;
  rssFileMb: number;
}

async function resident(pid: number): Promise<Resident> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const mb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { rssMb: mb("VmRSS"), rssAnonMb: mb("RssAnon"), rssFileMb: mb("RssFile") };
}

async function rssMb(pid: number): Promise<number> {
  return (await resident(pid)).rssMb;
}

/** Sequential scrapes against a freshly started exporter: one run's figures. */
async function scrapeRun(label: string, build: ExporterBuild, config: Record<string, string>, expect: string, runtime?: NodeRuntime): Promise<ScrapeFigures> {
  const child = await startChild(build, config, expect, runtime);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const latencies: number[] = [];
    let cpuStart = 0;
    for (let i = 0; i < 20 + SCRAPES; i++) {
      if (i === 20) cpuStart = await cpuMs(child.proc.pid!);
      const t0 = performance.now();
      const res = await httpGet(agent, `${child.url}/metrics`);
      const dt = performance.now() - t0;
      if (res.status !== 200 || !res.body.includes(expect)) throw new Error(`${label}: bad scrape (${res.status})`);
      if (i >= 20) latencies.push(dt);
    }
    const cpuMsPerScrape = ((await cpuMs(child.proc.pid!)) - cpuStart) / SCRAPES;
    return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), cpuMsPerScrape, ...(await resident(child.proc.pid!)), readyMs: child.readyMs };
  } finally {
    agent.destroy();
    await stopChild(child);
  }
}

/** Medians of each run's figures. */
function medianFigures(per: readonly ScrapeFigures[]): ScrapeFigures {
  return {
    p50Ms: round(median(per.map((p) => p.p50Ms))),
    p99Ms: round(median(per.map((p) => p.p99Ms))),
    cpuMsPerScrape: round(median(per.map((p) => p.cpuMsPerScrape))),
    rssMb: round(median(per.map((p) => p.rssMb)), 1),
    rssAnonMb: round(median(per.map((p) => p.rssAnonMb)), 1),
    rssFileMb: round(median(per.map((p) => p.rssFileMb)), 1),
    readyMs: round(median(per.map((p) => p.readyMs)), 0),
  };
}

function printFigures(label: string, fig: ScrapeFigures): void {
  console.log(`  ${label.padEnd(44)} p50 ${fig.p50Ms} ms  p99 ${fig.p99Ms} ms  CPU/scrape ${fig.cpuMsPerScrape} ms  RSS ${fig.rssMb} MB (anon ${fig.rssAnonMb}, file ${fig.rssFileMb})  first refresh ${fig.readyMs} ms`);
}

/** Sequential scrapes against a fresh exporter, `RUNS` times; medians of each run's figures. */
async function scrapeFigures(label: string, build: ExporterBuild, config: Record<string, string>, expect: string): Promise<ScrapeFigures> {
  const per: ScrapeFigures[] = [];
  for (let r = 0; r < RUNS; r++) per.push(await scrapeRun(label, build, config, expect));
  const fig = medianFigures(per);
  printFigures(label, fig);
  return fig;
}

interface ScanFigures {
  /** MB/s by wall-clock time. */
  wallMbPerS: number;
  /** MB/s by the scanning process's CPU time (and its child's, where a child reads the log). */
  cpuMbPerS: number;
  /** Where a child process read the log: its peak resident memory and how long it lived from the request to its answer. */
  childPeakRssMb?: number;
  childMs?: number;
}

/** One initial scan of the events log by the exporter's bundle, in a process of its own started with the given runtime. */
async function scanRun(build: ExporterBuild, file: string, bytes: number, runtime: NodeRuntime = build.runtime): Promise<ScanFigures> {
  const proc = spawn(process.execPath, [...runtime.flags, build.scanner, JSON.stringify({ scanEventsFile: file })], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...runtime.env },
  });
  const chunks: Buffer[] = [];
  proc.stdout!.on("data", (c: Buffer) => chunks.push(c));
  const [code] = (await once(proc, "exit")) as [number | null];
  if (code !== 0) throw new Error(`events scan exited with ${String(code)}`);
  const { seconds, cpuSeconds, events, child } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
    seconds: number;
    cpuSeconds: number;
    events: number;
    child?: { wallMs: number; peakRssBytes: number };
  };
  if (events !== EVENTS) throw new Error(`scan counted ${events} events, expected ${EVENTS}`);
  const mb = bytes / 1024 / 1024;
  return { wallMbPerS: mb / seconds, cpuMbPerS: mb / cpuSeconds, ...(child ? { childPeakRssMb: child.peakRssBytes / 1024 / 1024, childMs: child.wallMs } : {}) };
}

function medianScan(per: readonly ScanFigures[]): ScanFigures {
  const child = per.filter((p) => p.childPeakRssMb !== undefined);
  return {
    wallMbPerS: round(median(per.map((p) => p.wallMbPerS)), 1),
    cpuMbPerS: round(median(per.map((p) => p.cpuMbPerS)), 1),
    ...(child.length > 0 ? { childPeakRssMb: round(median(child.map((p) => p.childPeakRssMb!)), 1), childMs: round(median(child.map((p) => p.childMs!)), 0) } : {}),
  };
}

/** "read by a child: peak RSS 48 MB, 900 ms" where a child read the log. */
const describeScanChild = (scan: ScanFigures): string =>
  scan.childPeakRssMb === undefined ? "read in the serving process" : `read by a child process: peak RSS ${scan.childPeakRssMb} MB, ${scan.childMs} ms`;

async function scanRate(build: ExporterBuild, file: string, bytes: number): Promise<ScanFigures & { jsonParseBaselineMbPerS: number }> {
  const per: ScanFigures[] = [];
  const baseline: number[] = [];
  const mb = bytes / 1024 / 1024;
  for (let r = 0; r < RUNS; r++) {
    per.push(await scanRun(build, file, bytes));
    const b0 = performance.now();
    let parsed = 0;
    for (const line of (await readFile(file, "utf8")).split("\n")) if (line) parsed += (JSON.parse(line) as { timestamp: string }).timestamp.length > 0 ? 1 : 0;
    if (parsed !== EVENTS) throw new Error("baseline parse miscounted");
    baseline.push(mb / ((performance.now() - b0) / 1000));
  }
  return { ...medianScan(per), jsonParseBaselineMbPerS: round(median(baseline), 1) };
}

async function concurrentScrapers(build: ExporterBuild, config: Record<string, string>): Promise<{ requests: number; errors: number; p50Ms: number; p99Ms: number; rssMb: number }> {
  const child = await startChild(build, config, "ds01_events_24h_total{");
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENT_SCRAPERS });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + CONCURRENCY_SECONDS * 1000;
  try {
    const scraper = async (): Promise<void> => {
      for (let i = 0; i < 1_000_000 && performance.now() < deadline; i++) {
        const t0 = performance.now();
        try {
          const res = await httpGet(agent, `${child.url}/metrics`);
          if (res.status !== 200 || !res.body.includes("ds01_gpu_allocated{")) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT_SCRAPERS }, scraper));
    return { requests: latencies.length, errors, p50Ms: round(percentile(latencies, 50)), p99Ms: round(percentile(latencies, 99)), rssMb: round(await rssMb(child.proc.pid!), 1) };
  } finally {
    agent.destroy();
    await stopChild(child);
  }
}

/** Creates containers up to `n` in all, DS01-labelled, each holding one MIG device; `have` exist already. */
async function createContainers(d: Dockerd, image: string, have: number, n: number): Promise<void> {
  let next = have;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await d.create(`job-${i}._.${1000 + (i % 200)}`, {
        Image: image,
        Labels: { "ds01.user": `user${i % 200}`, "ds01.interface": ["orchestration", "atomic", "api"][i % 3]! },
        HostConfig: { DeviceRequests: [{ Driver: "", Count: 0, DeviceIDs: [migUuid((i >> 3) % GPUS, i % MIGS_PER_GPU)], Capabilities: [["gpu"]] }] },
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** A runtime as BENCH_NODE_FLAGS writes it: `NAME=value` words are environment, the rest node flags. */
function parseRuntime(set: string): NodeRuntime {
  const words = set.split(" ").filter(Boolean);
  const env: Record<string, string> = {};
  for (const w of words.filter((w) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w))) env[w.slice(0, w.indexOf("="))] = w.slice(w.indexOf("=") + 1);
  return { flags: words.filter((w) => w.startsWith("-")), env };
}

const describeRuntime = (r: NodeRuntime): string => [...Object.entries(r.env).map(([k, v]) => `${k}=${v}`), ...r.flags].join(" ") || "(node defaults)";

interface Variant {
  readonly name: string;
  readonly build: ExporterBuild;
  readonly runtime: NodeRuntime;
}

/**
 * Side by side in one run: memory at 10,000 allocations with the events log and latency at
 * 1,000 allocations, for each variant (an exporter build with a runtime). The runs alternate
 * between the variants (A B A B ...), so load on the machine falls on all of them alike.
 * Variants: `BENCH_BASELINE=<git ref>` the exporter as that commit had it, with its image's
 * runtime, then the working tree with its own; `BENCH_NODE_FLAGS="|--max-semi-space-size=1 ..."`
 * the working tree's exporter under each runtime (separated by `|`; the empty one is node's
 * defaults; `NAME=value` words set the environment).
 */
async function compare(dir: string, deviceMap: string, stateDir: string, variants: readonly Variant[]): Promise<void> {
  const big = path.join(dir, "gpu-state-10000.json");
  const small = path.join(dir, "gpu-state-1000.json");
  await writeStateFile(big, 10_000);
  await writeStateFile(small, 1000);
  const eventsFile = path.join(dir, "events.jsonl");
  const bytes = await writeEventsFile(eventsFile, EVENTS);
  const memLabel = `10,000 allocations + ${EVENTS.toLocaleString("en")} events`;
  const mem = variants.map((): ScrapeFigures[] => []);
  const lat = variants.map((): ScrapeFigures[] => []);
  const scans = variants.map((): ScanFigures[] => []);
  for (let r = 0; r < RUNS; r++) {
    for (const [i, v] of variants.entries()) {
      scans[i]!.push(await scanRun(v.build, eventsFile, bytes, v.runtime));
      mem[i]!.push(await scrapeRun(memLabel, v.build, { stateFile: big, deviceMap, stateDir, eventsFile }, "ds01_events_24h_total{", v.runtime));
      lat[i]!.push(await scrapeRun("1,000 allocations", v.build, { stateFile: small, deviceMap, stateDir }, "ds01_gpu_allocated{", v.runtime));
    }
    console.log(`  run ${r + 1} of ${RUNS} done`);
  }
  const rows = variants.map((v, i) => {
    const m = medianFigures(mem[i]!);
    const l = medianFigures(lat[i]!);
    const scan = medianScan(scans[i]!);
    console.log(`${v.name} (${describeRuntime(v.runtime)}):`);
    printFigures(memLabel, m);
    printFigures("1,000 allocations", l);
    console.log(`  initial events scan: ${scan.wallMbPerS} MB/s wall, ${scan.cpuMbPerS} MB/s by CPU time, ${describeScanChild(scan)}`);
    return `| ${v.name} | ${describeRuntime(v.runtime)} | ${m.rssMb} | ${m.rssAnonMb} / ${m.rssFileMb} | ${m.readyMs} | ${scan.wallMbPerS} / ${scan.cpuMbPerS} | ${scan.childPeakRssMb ?? "-"} | ${l.rssMb} | ${l.p50Ms} | ${l.p99Ms} | ${l.cpuMsPerScrape} |`;
  });
  console.log(
    [
      "",
      `Medians of ${RUNS} runs each, runs alternating between the variants:`,
      "",
      `| exporter | runtime | RSS MB, ${memLabel} | of it anon / file MB | first refresh ms there | events scan MB/s wall / CPU | scan child peak RSS MB | RSS MB, 1,000 allocations | p50 ms | p99 ms | CPU ms/scrape |`,
      "|---|---|---|---|---|---|---|---|---|---|---|",
      ...rows,
    ].join("\n"),
  );
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "ds01-bench-"));
  const results: Record<string, unknown> = {};
  try {
    const build = await buildExporter(dir);
    const deviceMap = path.join(dir, "nvidia-smi-L.txt");
    await writeDeviceMap(deviceMap);
    const stateDir = path.join(dir, "state");
    await mkdir(stateDir);
    const [load1] = (await readFile("/proc/loadavg", "utf8")).split(" ");
    console.log(`DS01 exporter benchmark: median of ${RUNS} runs, ${SCRAPES} sequential scrapes per run, node ${process.version}`);
    console.log(`Machine: ${os.cpus().length} CPUs, load average ${load1} at start (latencies scale with competing load)`);
    if (process.env.BENCH_BASELINE !== undefined || process.env.BENCH_NODE_FLAGS !== undefined) {
      const variants: Variant[] = [];
      if (process.env.BENCH_BASELINE) {
        const baseline = await buildExporter(dir, process.env.BENCH_BASELINE);
        variants.push({ name: baseline.name, build: baseline, runtime: baseline.runtime });
      }
      const sets = process.env.BENCH_NODE_FLAGS?.split("|").map(parseRuntime) ?? [build.runtime];
      for (const runtime of sets) variants.push({ name: build.name, build, runtime });
      await compare(dir, deviceMap, stateDir, variants);
      return;
    }
    console.log(`Runtime, as exporter/Dockerfile starts the exporter: ${describeRuntime(build.runtime)}`);

    console.log("State-file source:");
    const stateFigs: Record<number, ScrapeFigures> = {};
    for (const n of STATE_SIZES) {
      const file = path.join(dir, `gpu-state-${n}.json`);
      await writeStateFile(file, n);
      stateFigs[n] = await scrapeFigures(`${n} allocations`, build, { stateFile: file, deviceMap, stateDir }, "ds01_gpu_allocated{");
    }
    results.stateFile = stateFigs;

    console.log(`Events log (${EVENTS.toLocaleString("en")} events):`);
    const eventsFile = path.join(dir, "events.jsonl");
    const bytes = await writeEventsFile(eventsFile, EVENTS);
    const scan = await scanRate(build, eventsFile, bytes);
    const mbPerS = scan.wallMbPerS;
    console.log(
      `  initial scan of ${round(bytes / 1024 / 1024, 1)} MB: ${scan.wallMbPerS} MB/s wall, ${scan.cpuMbPerS} MB/s by CPU time ` +
        `(for scale, readFile + JSON.parse of every line: ${scan.jsonParseBaselineMbPerS} MB/s wall); ${describeScanChild(scan)}`,
    );
    const withEvents = await scrapeFigures(`1,000 allocations + ${EVENTS.toLocaleString("en")} events`, build, {
      stateFile: path.join(dir, "gpu-state-1000.json"),
      deviceMap,
      stateDir,
      eventsFile,
    }, "ds01_events_24h_total{");
    const bigWithEvents = await scrapeFigures(`10,000 allocations + ${EVENTS.toLocaleString("en")} events`, build, {
      stateFile: path.join(dir, "gpu-state-10000.json"),
      deviceMap,
      stateDir,
      eventsFile,
    }, "ds01_events_24h_total{");
    results.events = { scan, fileMb: round(bytes / 1024 / 1024, 1), scrape: withEvents, scrape10000: bigWithEvents };

    console.log(`Real Docker engine (containers created, not started):`);
    const started = await Dockerd.start();
    const dockerFigs: Record<number, ScrapeFigures & { createS: number }> = {};
    if (typeof started === "string") {
      console.log(`  skipped: ${started}`);
    } else {
      try {
        const image = await started.importImage("ds01-bench", "1");
        let have = 0;
        for (const n of DOCKER_SIZES) {
          const t0 = performance.now();
          await createContainers(started, image, have, n);
          have = n;
          const createS = round((performance.now() - t0) / 1000, 1);
          const fig = await scrapeFigures(`${n} containers/allocations`, build, { dockerSocket: started.socketPath, deviceMap, stateDir }, "ds01_gpu_allocated{");
          dockerFigs[n] = { ...fig, createS };
        }
      } finally {
        await started.stop();
      }
    }
    results.docker = dockerFigs;

    console.log(`${CONCURRENT_SCRAPERS} concurrent scrapers for ${CONCURRENCY_SECONDS} s (1,000 allocations, ${EVENTS.toLocaleString("en")} events):`);
    const conc = await concurrentScrapers(build, { stateFile: path.join(dir, "gpu-state-1000.json"), deviceMap, stateDir, eventsFile });
    console.log(`  ${conc.requests} scrapes, ${conc.errors} errors, p50 ${conc.p50Ms} ms, p99 ${conc.p99Ms} ms, RSS ${conc.rssMb} MB`);
    results.concurrency = conc;

    const targets: Array<[string, boolean, string]> = [
      ["RSS < 64 MB at 10,000 allocations + 1M events", bigWithEvents.rssMb < 64, `${bigWithEvents.rssMb} MB`],
      ["p99 < 10 ms at 1,000 allocations (state file)", stateFigs[1000]!.p99Ms < 10, `${stateFigs[1000]!.p99Ms} ms (p50 ${stateFigs[1000]!.p50Ms} ms)`],
      ...(dockerFigs[1000] ? [["p99 < 10 ms at 1,000 allocations (Docker)", dockerFigs[1000].p99Ms < 10, `${dockerFigs[1000].p99Ms} ms (p50 ${dockerFigs[1000].p50Ms} ms)`] as [string, boolean, string]] : []),
      ["events scan >= 100 MB/s (wall)", mbPerS >= 100, `${mbPerS} MB/s (by CPU time ${scan.cpuMbPerS} MB/s)`],
      ["zero errors under concurrency", conc.errors === 0, `${conc.errors} errors`],
    ];
    console.log("Targets:");
    for (const [what, ok, got] of targets) console.log(`  ${ok ? "MET " : "MISS"} ${what}: ${got}`);
    console.log(JSON.stringify(results));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
