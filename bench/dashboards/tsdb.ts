import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { PrometheusApi } from "../../cli/local/prometheus-api";
import { promisify } from "node:util";
import { parse } from "yaml";
import { RECORDING_RULE_FILE, alertingSchema, renderRuleFiles, thresholdsSchema } from "../../alerts";
import { durationMs } from "../../alerts/model";
import { escapeLabelValue } from "../../exporter/core/render";
import { hostSeries, openMetricsWindow } from "./history";
import type { BenchShape } from "./shape";

const run = promisify(execFile);
/** promtool's backfill writes blocks of this span (its default); one input file per block keeps each file read once. */
const BLOCK_SECONDS = 2 * 3600;

/** Writes one window's OpenMetrics text into `file` with `produce`, which returns its sample count. */
type WindowProducer = (from: number, to: number, write: (chunk: string) => void) => number | Promise<number>;

/**
 * Backfills [start, end) into `dataDir` one promtool block window at a time, two windows at once:
 * each window's text written by `produce` to a file of its own, then read once by promtool.
 * Returns the samples written; `progress` hears of each window done.
 */
async function backfillWindows(dataDir: string, workDir: string, name: string, start: number, end: number, produce: WindowProducer, progress: (windowsDone: number) => void = () => {}): Promise<number> {
  const windows: number[] = [];
  for (let t = start; t < end; t += BLOCK_SECONDS) windows.push(t);
  let samples = 0;
  let done = 0;
  const worker = async (slot: number): Promise<void> => {
    const file = join(workDir, `${name}-${slot}.om`);
    for (let from = windows.shift(); from !== undefined; from = windows.shift()) {
      const out = createWriteStream(file);
      const written = await produce(from, Math.min(end, from + BLOCK_SECONDS), (chunk) => out.write(chunk));
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      if (written > 0) await run("promtool", ["tsdb", "create-blocks-from", "openmetrics", "--quiet", file, dataDir], { maxBuffer: 1 << 24 });
      samples += written;
      progress(++done);
    }
    await rm(file, { force: true });
  };
  await Promise.all([worker(0), worker(1)]);
  return samples;
}

/** Backfills the host's raw series into `dataDir`, two promtool processes at a time. Returns the sample count. */
export async function backfillRaw(shape: BenchShape, dataDir: string, workDir: string, start: number, end: number, log: (s: string) => void): Promise<{ samples: number; series: number }> {
  const series = hostSeries(shape, start, end);
  const samples = await backfillWindows(
    dataDir,
    workDir,
    "window",
    start,
    end,
    (from, to, write) => openMetricsWindow(series, from, to, shape.intervalSeconds, write),
    (done) => {
      if (done % 12 === 0) log(`  backfilled ${(done * BLOCK_SECONDS) / 86400} days`);
    },
  );
  return { samples, series: series.length };
}

type AlertsModule = Pick<typeof import("../../alerts"), "RECORDING_RULE_FILE" | "alertingSchema" | "renderRuleFiles" | "thresholdsSchema">;

/** The stack's recording rules with default settings, as rendered into the rule file Prometheus loads. */
export function recordingRules(alerts: AlertsModule = { RECORDING_RULE_FILE, alertingSchema, renderRuleFiles, thresholdsSchema }): string {
  const files = alerts.renderRuleFiles({ thresholds: alerts.thresholdsSchema.parse(undefined), alerting: alerts.alertingSchema.parse(undefined), retentionSize: "20GB" });
  const recording = files.find((f) => f.fileName === alerts.RECORDING_RULE_FILE);
  if (!recording) throw new Error(`no ${alerts.RECORDING_RULE_FILE} among the rendered rule files`);
  return recording.content;
}

/** Another checkout's recording rules, rendered by its own `alerts` module (the bench's `--baseline`). */
export async function recordingRulesOf(checkout: string): Promise<string> {
  return recordingRules((await import(`${checkout}/alerts/index.ts`)) as AlertsModule);
}

interface RuleDoc {
  groups: { name: string; interval?: string; rules: { record?: string; expr: string; labels?: Record<string, string> }[] }[];
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

interface LayerRule {
  readonly record: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly stepSeconds: number;
}

/**
 * One block window of a layer's recordings as OpenMetrics: each rule's expression evaluated over
 * the window at its group's interval (query_range evaluates at each step as the rule manager
 * would), named by the record with the rule's labels, families kept together.
 */
async function recordedWindow(api: PrometheusApi, rules: readonly LayerRule[], from: number, to: number, write: (chunk: string) => void): Promise<number> {
  const families = new Map<string, string[]>();
  let samples = 0;
  for (const rule of rules) {
    const first = Math.ceil(from / rule.stepSeconds) * rule.stepSeconds;
    const last = to - rule.stepSeconds;
    if (last < first) continue;
    const result = await api.queryRange(rule.expr, first, last, rule.stepSeconds);
    if (result.resultType !== "matrix") throw new Error(`recording ${rule.record}: expected a range vector, got ${result.resultType}`);
    const lines = families.get(rule.record) ?? families.set(rule.record, []).get(rule.record) ?? [];
    for (const series of result.result) {
      const { __name__: _name, ...labels } = { ...series.metric, ...rule.labels };
      const prefix = `${rule.record}{${Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(",")}} `;
      lines.push(series.values.map(([t, v]) => `${prefix}${v} ${t}\n`).join(""));
      samples += series.values.length;
    }
  }
  for (const [record, lines] of families) {
    if (!lines.length) continue;
    write(`# TYPE ${record} unknown\n`);
    for (const l of lines) write(l);
  }
  write("# EOF\n");
  return samples;
}

/**
 * Evaluates one layer of recording rules over [start, end) against Prometheus at `url` and writes
 * their series into `dataDir`: one OpenMetrics file and one promtool backfill per 2 h block,
 * two at a time. (promtool's own `create-blocks-from rules` writes a block per rule per 2 h, over
 * 20,000 blocks for a month of this stack's rules, more than Prometheus may hold open.)
 * Returns the samples written.
 */
export async function backfillRules(layerYaml: string, url: string, dataDir: string, workDir: string, start: number, end: number, evalInterval: string): Promise<number> {
  const doc = parse(layerYaml) as RuleDoc;
  const rules: LayerRule[] = doc.groups.flatMap((g) =>
    g.rules.flatMap((r) => (r.record ? [{ record: r.record, expr: r.expr, labels: r.labels ?? {}, stepSeconds: durationMs(g.interval ?? evalInterval) / 1000 }] : [])),
  );
  const api = new PrometheusApi(url);
  return backfillWindows(dataDir, workDir, "rules-window", start, end, (from, to, write) => recordedWindow(api, rules, from, to, write));
}
