import { startExporter } from "../exporter/core/server";
import { setQuietLog } from "../exporter/core/log";
import * as ds01 from "../exporter/ds01";
import type { Source } from "../exporter/core/source";
import type { Ds01Snapshot } from "../exporter/ds01/model";

/**
 * The exporter under measurement, in a process of its own so its RSS is its own. Takes its
 * sources as one JSON argument, prints `{"url": ...}` once the first refresh is done, and runs
 * until killed. With `scanEventsFile` it instead reads that events log once from its start, as
 * the exporter's first refresh does, prints `{"seconds", "cpuSeconds", "events", "child"}` and
 * exits: the scan measured under the runtime the exporter runs with, by the path the exporter
 * takes there (under --lite-mode a child process reads the log; its CPU time is counted in and
 * its cost is `child`).
 *
 * The baseline of a side-by-side run is an older exporter bundled with this file, so what it may
 * lack (the child scan) is looked up on the module, not imported by name.
 */
const { createDockerSource, createDs01Collector, createEventsLog, createStateDirSource, createStateFileSource } = ds01;
const optional = ds01 as Partial<typeof ds01>;
const largeReads = optional.scanChildForThisProcess?.();
const eventsLog = (path: string, maxEventTypes?: number): ds01.EventsLog =>
  createEventsLog({ path, ...(maxEventTypes ? { maxEventTypes } : {}), ...(largeReads ? { largeReads } : {}) });
interface ChildConfig {
  scanEventsFile?: string;
  stateFile?: string;
  dockerSocket?: string;
  deviceMap?: string;
  eventsFile?: string;
  stateDir?: string;
}

async function scanOnce(file: string): Promise<void> {
  const log = eventsLog(file, 1000);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const counts = await log.read();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  await log.close();
  const events = [...counts.values()].reduce((a, b) => a + b, 0);
  const child = log.lastChildRead;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6 + (child ? child.cpuMs / 1000 : 0);
  process.stdout.write(JSON.stringify({ seconds, cpuSeconds, events, child }) + "\n");
}

async function main(): Promise<void> {
  setQuietLog(true);
  const config = JSON.parse(process.argv[2] ?? "{}") as ChildConfig;
  if (config.scanEventsFile) return scanOnce(config.scanEventsFile);
  let snapshot: Source<Ds01Snapshot> | undefined;
  if (config.dockerSocket) snapshot = createDockerSource({ socketPath: config.dockerSocket, deviceMapFile: config.deviceMap, requestTimeoutMs: 30_000 });
  else if (config.stateFile) snapshot = createStateFileSource({ path: config.stateFile, deviceMapFile: config.deviceMap });
  const collector = createDs01Collector({
    version: "bench",
    snapshot,
    events: config.eventsFile ? eventsLog(config.eventsFile) : undefined,
    stateDir: config.stateDir ? createStateDirSource({ path: config.stateDir }) : undefined,
    // The first read of a large source (1M events, 1,000 inspections) may take seconds.
    sourceTimeoutMs: 120_000,
  });
  const started = performance.now();
  const exporter = await startExporter({ collectors: [collector], port: 0, refreshTimeoutMs: 120_000 });
  await exporter.ready;
  process.stdout.write(JSON.stringify({ url: exporter.url, readyMs: performance.now() - started }) + "\n");
  const stop = (): void => {
    // A signal handler cannot be awaited; a failed close leaves the rejection to end the process.
    void exporter.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (optional.isScanChild?.()) optional.serveEventsScan?.();
else {
  main().catch((err: unknown) => {
    process.stderr.write(`exporter-child: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
