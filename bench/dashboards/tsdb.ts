import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { RECORDING_RULE_FILE, alertingSchema, renderRuleFiles, thresholdsSchema } from "../../alerts";
import { hostSeries, openMetricsWindow } from "./history";
import type { BenchShape } from "./shape";

const run = promisify(execFile);
/** promtool's backfill writes blocks of this span (its default); one input file per block keeps each file read once. */
const BLOCK_SECONDS = 2 * 3600;

async function writeWindow(file: string, write: (w: (chunk: string) => void) => number): Promise<number> {
  const out = createWriteStream(file);
  const n = write((chunk) => out.write(chunk));
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return n;
}

/** Backfills the host's raw series into `dataDir`, two promtool processes at a time. Returns the sample count. */
export async function backfillRaw(shape: BenchShape, dataDir: string, workDir: string, start: number, end: number, log: (s: string) => void): Promise<{ samples: number; series: number }> {
  const series = hostSeries(shape, start, end);
  const windows: number[] = [];
  for (let t = start; t < end; t += BLOCK_SECONDS) windows.push(t);
  let samples = 0;
  let done = 0;
  const worker = async (slot: number): Promise<void> => {
    const file = join(workDir, `window-${slot}.om`);
    for (let w = windows.shift(); w !== undefined; w = windows.shift()) {
      const from = w;
      samples += await writeWindow(file, (write) => openMetricsWindow(series, from, Math.min(end, from + BLOCK_SECONDS), shape.intervalSeconds, write));
      await run("promtool", ["tsdb", "create-blocks-from", "openmetrics", "--quiet", file, dataDir], { maxBuffer: 1 << 24 });
      if (++done % 12 === 0) log(`  backfilled ${(done * BLOCK_SECONDS) / 86400} days`);
    }
    await rm(file, { force: true });
  };
  await Promise.all([worker(0), worker(1)]);
  return { samples, series: series.length };
}

/** The stack's recording rules with default settings, as rendered into the rule file Prometheus loads. */
export function recordingRules(): string {
  const files = renderRuleFiles({ thresholds: thresholdsSchema.parse(undefined), alerting: alertingSchema.parse(undefined), retentionSize: "20GB" });
  const recording = files.find((f) => f.fileName === RECORDING_RULE_FILE);
  if (!recording) throw new Error(`no ${RECORDING_RULE_FILE} among the rendered rule files`);
  return recording.content;
}

interface RuleDoc {
  groups: { name: string; interval?: string; rules: { record?: string; expr: string }[] }[];
}

/**
 * The recording rules in the order promtool can backfill them: promtool evaluates every rule
 * against the data already in Prometheus, so a rule that reads another recorded series waits for
 * a later layer, after that series' blocks are loaded.
 */
export function ruleLayers(recordingYaml: string, skip: ReadonlySet<string> = new Set()): string[] {
  const doc = parse(recordingYaml) as RuleDoc;
  const rules = doc.groups.flatMap((g) => g.rules.filter((r) => r.record).map((r) => ({ group: g, rule: r })));
  const names = new Set(rules.map((r) => r.rule.record ?? ""));
  const depth = new Map<string, number>();
  const depthOf = (record: string, seen: Set<string>): number => {
    const known = depth.get(record);
    if (known !== undefined) return known;
    const expr = rules.find((r) => r.rule.record === record)?.rule.expr ?? "";
    const deps = [...names].filter((n) => n !== record && !seen.has(n) && new RegExp(`(^|[^\\w:])${n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^\\w:])`).test(expr));
    const d = deps.length ? 1 + Math.max(...deps.map((n) => depthOf(n, new Set([...seen, record])))) : 0;
    depth.set(record, d);
    return d;
  };
  const layers: string[] = [];
  const maxDepth = Math.max(0, ...[...names].map((n) => depthOf(n, new Set())));
  for (let d = 0; d <= maxDepth; d++) {
    const groups = doc.groups
      .map((g) => ({ ...g, rules: g.rules.filter((r) => r.record && !skip.has(r.record) && depth.get(r.record) === d) }))
      .filter((g) => g.rules.length > 0);
    if (groups.length) layers.push(JSON.stringify({ groups }));
  }
  return layers;
}

export function recordNames(recordingYaml: string): string[] {
  return (parse(recordingYaml) as RuleDoc).groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])));
}

/**
 * Evaluates one layer of recording rules over [start, end) against Prometheus at `url`, into `dataDir`.
 * Prometheus evaluates each query on one core and promtool sends one at a time, so the range is
 * split into `parallel` spans (on block boundaries), each backfilled by its own promtool.
 */
export async function backfillRules(layerYaml: string, url: string, dataDir: string, workDir: string, start: number, end: number, evalInterval: string, parallel = 2): Promise<number> {
  const rulesFile = join(workDir, "layer.rules.yml");
  await writeFile(rulesFile, layerYaml);
  const blocksIn = Math.ceil((end - start) / BLOCK_SECONDS);
  const per = Math.ceil(blocksIn / Math.max(1, Math.min(parallel, blocksIn)));
  const spans: [number, number][] = [];
  for (let from = start; from < end; from += per * BLOCK_SECONDS) spans.push([from, Math.min(end, from + per * BLOCK_SECONDS)]);
  const counts = await Promise.all(
    spans.map(async ([from, to], i) => {
      const outDir = join(workDir, `rule-blocks-${i}`);
      await rm(outDir, { recursive: true, force: true });
      await mkdir(outDir, { recursive: true });
      await run(
        "promtool",
        // promtool's end is inclusive: a span that another follows stops a second short of it.
        ["tsdb", "create-blocks-from", "rules", "--quiet", `--url=${url}`, `--start=${from}`, `--end=${to < end ? to - 1 : to}`, `--output-dir=${outDir}`, `--eval-interval=${evalInterval}`, rulesFile],
        { maxBuffer: 1 << 24 },
      );
      const blocks = (await readdir(outDir, { withFileTypes: true })).filter((d) => d.isDirectory());
      for (const b of blocks) await rename(join(outDir, b.name), join(dataDir, b.name));
      await rm(outDir, { recursive: true, force: true });
      return blocks.length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
