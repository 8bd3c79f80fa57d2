import { setQuietLog } from "../exporter/core/log";
import * as ds01 from "../exporter/ds01";

/**
 * The events log's initial scan, measured under the runtime the exporter runs with: reads the
 * log named by its one argument (`{"scanEventsFile": path}`) from its start, as the exporter's
 * first refresh does, prints `{"seconds", "cpuSeconds", "events", "child"}` and exits. Where the
 * runtime has no optimising compiler a child process reads the log, as in the exporter; its CPU
 * time is counted in and its cost is `child`.
 *
 * The baseline of a side-by-side run is an older exporter bundled with this file, so what it may
 * lack (the child scan) is looked up on the module, not imported by name.
 */
const optional = ds01 as Partial<typeof ds01>;

async function scanOnce(file: string): Promise<void> {
  const largeReads = optional.scanChildForThisProcess?.();
  const log = ds01.createEventsLog({ path: file, maxEventTypes: 1000, ...(largeReads ? { largeReads } : {}) });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const counts = await log.read();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  await log.close();
  const events = [...counts.values()].reduce((a, b) => a + b, 0);
  const child = (log as { lastChildRead?: { cpuMs: number } }).lastChildRead;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6 + (child ? child.cpuMs / 1000 : 0);
  process.stdout.write(JSON.stringify({ seconds, cpuSeconds, events, child }) + "\n");
}

if (optional.isScanChild?.()) optional.serveEventsScan?.();
else {
  setQuietLog(true);
  const { scanEventsFile } = JSON.parse(process.argv[2] ?? "{}") as { scanEventsFile?: string };
  if (!scanEventsFile) {
    process.stderr.write("usage: events-scan.js '{\"scanEventsFile\": PATH}'\n");
    process.exit(2);
  }
  scanOnce(scanEventsFile).catch((err: unknown) => {
    process.stderr.write(`events-scan: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
