import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseExposition } from "../../exporter-ds01/support/metrics-text";

const run = promisify(execFile);

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * Gives a fresh Prometheus the recent past a running host would have: the `ds01_*` gauges of
 * the exporter's page, as scraped now, repeated every `stepSeconds` over the last `seconds`,
 * labelled exactly as the live scrape labels them, written into `dataDir` as TSDB blocks by
 * `promtool tsdb create-blocks-from openmetrics`. DS01's monthly panels sample their input on
 * the hour (`[30d:1h]` subqueries), which a Prometheus started minutes ago has no data for.
 */
export async function backfillGauges(opts: {
  page: string;
  targetLabels: Readonly<Record<string, string>>;
  dataDir: string;
  workDir: string;
  seconds: number;
  stepSeconds: number;
}): Promise<number> {
  const gauges = new Set([...opts.page.matchAll(/^# TYPE (ds01_\w+) gauge$/gm)].map((m) => m[1]!));
  const samples = parseExposition(opts.page).filter((s) => gauges.has(s.name) && Number.isFinite(s.value));
  const now = Math.floor(Date.now() / 1000);
  const lines: string[] = [];
  for (const s of samples) {
    const labels = { ...s.labels, ...opts.targetLabels };
    const series = `${s.name}{${Object.entries(labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(",")}}`;
    // Oldest first: OpenMetrics wants each series' samples in time order.
    for (let t = now - opts.seconds; t < now - opts.stepSeconds; t += opts.stepSeconds) lines.push(`${series} ${s.value} ${t}`);
  }
  const file = join(opts.workDir, "history.om");
  await writeFile(file, `${lines.join("\n")}\n# EOF\n`);
  await run("promtool", ["tsdb", "create-blocks-from", "openmetrics", file, opts.dataDir], { timeout: 60_000 });
  return samples.length;
}
