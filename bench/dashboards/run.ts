import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { freePort } from "../../cli/local/ports";
import type { ManagedProcess } from "../../cli/local/process";
import { type PrometheusApi, seriesCount } from "../../cli/local/prometheus-api";
import { startPrometheus } from "../../cli/local/services";
import { sleep } from "../../cli/local/wait";
import { dashboardsOf, HistoryApi, measureRange, THIS_TREE, type DashboardSource, type Measured } from "./measure";
import { liveRuleGroupCost } from "./ruleGroups";
import { backfillRaw, backfillRules, recordingRules, recordingRulesOf, recordNames, ruleLayers } from "./tsdb";
import { BASELINE_PASSES, parseShape, USAGE, type BenchShape } from "./shape";

/**
 * `npm run bench:dashboards`: how long every dashboard takes to load over 24 h, 7 d and 30 d of a
 * GPU host's history, queries sent one after another as Grafana would send them, and how many
 * series each panel returns. See USAGE in ./shape.ts for the host's size.
 */

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

interface Meta {
  shape: BenchShape;
  start: number;
  end: number;
  samples: number;
  seriesEver: number;
  /** Recording rules already backfilled. */
  records: string[];
}

async function prometheus(dir: string, days: number): Promise<{ proc: ManagedProcess; api: PrometheusApi; url: string }> {
  const port = await freePort();
  const config = join(dir, "prometheus.yml");
  await writeFile(config, "scrape_configs: []\n");
  const { proc, api } = await startPrometheus({ configFile: config, dataDir: join(dir, "data"), port, logDir: dir, retention: `${days + 5}d` });
  return { proc, api, url: `http://127.0.0.1:${port}` };
}

async function blockCount(dataDir: string): Promise<number> {
  return (await readdir(dataDir, { withFileTypes: true })).filter((d) => d.isDirectory() && /^[0-9A-Z]{26}$/.test(d.name)).length;
}

/** Backfills the recording rules of `rulesYaml` not yet in the history (all of them on a new one). */
async function backfillRecordingRules(dir: string, shape: BenchShape, meta: Pick<Meta, "start" | "end">, rulesYaml: string, already: ReadonlySet<string>): Promise<void> {
  const t0 = Date.now();
  const layers = ruleLayers(rulesYaml, already);
  for (const [i, layer] of layers.entries()) {
    const p = await prometheus(dir, shape.days);
    try {
      const samples = await backfillRules(layer, p.url, join(dir, "data"), dir, meta.start, meta.end, "60s");
      log(`  recording rules, layer ${i + 1} of ${layers.length}: ${samples.toLocaleString()} samples`);
    } finally {
      await p.proc.stop();
    }
  }
  log(`  recording rules in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/** Backfills the recordings of `rulesYaml` the history does not hold yet; returns the history's new record list. */
async function backfillMissing(dir: string, shape: BenchShape, meta: Meta, rulesYaml: string): Promise<Meta> {
  const recorded = new Set(meta.records);
  if (recordNames(rulesYaml).some((r) => !recorded.has(r))) await backfillRecordingRules(dir, shape, meta, rulesYaml, recorded);
  const updated = { ...meta, records: [...new Set([...meta.records, ...recordNames(rulesYaml)])] };
  await writeFile(join(dir, "meta.json"), JSON.stringify(updated));
  return updated;
}

async function buildHistory(dir: string, shape: BenchShape, baselineRules?: string): Promise<Meta> {
  const meta = await historyWithRules(dir, shape);
  // A baseline's dashboards read its own recordings; rules it has and this tree lacks are added.
  return baselineRules ? backfillMissing(dir, shape, meta, baselineRules) : meta;
}

async function historyWithRules(dir: string, shape: BenchShape): Promise<Meta> {
  const metaFile = join(dir, "meta.json");
  const rules = recordingRules();
  const existing = await readFile(metaFile, "utf8").then((t) => JSON.parse(t) as Meta, () => undefined);
  const history = (s: BenchShape): string => JSON.stringify({ ...s, ranges: undefined, slowest: undefined, keep: undefined, baseline: undefined });
  if (existing && history(existing.shape) === history(shape)) {
    log(`reusing the history in ${dir} (${existing.samples.toLocaleString()} samples)`);
    // Rules added since the history was built are backfilled on top of it; changed ones keep their old series.
    return backfillMissing(dir, shape, existing, rules);
  }
  await rm(join(dir, "data"), { recursive: true, force: true });
  await mkdir(join(dir, "data"), { recursive: true });
  const block = 2 * 3600;
  const end = Math.floor(Date.now() / 1000 / block) * block;
  const start = end - shape.days * 86400;
  const t0 = Date.now();
  log(`backfilling ${shape.days} days of raw series at ${shape.intervalSeconds}s ...`);
  const raw = await backfillRaw(shape, join(dir, "data"), dir, start, end, log);
  log(`  ${raw.samples.toLocaleString()} samples, ${raw.series.toLocaleString()} series ever, in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  await backfillRecordingRules(dir, shape, { start, end }, rules, new Set());
  const meta: Meta = { shape, start, end, samples: raw.samples, seriesEver: raw.series, records: recordNames(rules) };
  await writeFile(metaFile, JSON.stringify(meta));
  return meta;
}

/** Waits until Prometheus has compacted the backfilled 2 h blocks, as a long-running server would have. */
async function awaitCompaction(dataDir: string): Promise<void> {
  let last = await blockCount(dataDir);
  for (let stableFor = 0; stableFor < 75_000; ) {
    await sleep(5_000);
    const now = await blockCount(dataDir);
    stableFor = now === last ? stableFor + 5_000 : 0;
    if (now !== last) log(`  compacting: ${now} blocks`);
    last = now;
  }
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? "").length))) ?? [];
  return rows.map((r) => `| ${r.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join(" | ")} |`).join("\n");
}

/**
 * What one evaluation of each recording rule group costs at the end of the history: its rules'
 * expressions as instant queries there, one after another, as Prometheus evaluates a group.
 */
async function ruleEvaluation(api: PrometheusApi, at: number): Promise<string> {
  const doc = parse(recordingRules()) as { groups: { name: string; rules: { record: string; expr: string }[] }[] };
  const rows: (string | number)[][] = [];
  for (const g of doc.groups) {
    await Promise.all(g.rules.map((r) => api.query(r.expr, at))); // warm-up
    let ms = 0;
    let series = 0;
    for (const r of g.rules) {
      const t0 = performance.now();
      series += seriesCount(await api.query(r.expr, at));
      ms += performance.now() - t0;
    }
    rows.push([g.name, g.rules.length, series, ms.toFixed(1)]);
  }
  return table([["rule group", "rules", "series written", "evaluation ms"], ...rows]);
}

/** Each query's median time over passes of the same queries (same order every pass). */
function medianPass(passes: readonly Measured[][]): Measured[] {
  const first = passes[0] ?? [];
  return first.map((m, j) => {
    const times = passes.map((p) => p[j]?.ms ?? m.ms).sort((x, y) => x - y);
    return { ...m, ms: times[Math.floor(times.length / 2)] ?? m.ms };
  });
}

/** Per-dashboard totals, the slowest queries and the panels over 50 series, for one range. */
function rangeReport(results: readonly Measured[], slowestCount: number): string {
  const byDashboard = new Map<string, Measured[]>();
  for (const r of results) (byDashboard.get(r.dashboard) ?? byDashboard.set(r.dashboard, []).get(r.dashboard))?.push(r);
  const panelSeries = (rs: Measured[]) => {
    const perPanel = new Map<string, number>();
    for (const r of rs.filter((x) => !x.variable)) perPanel.set(r.panel, (perPanel.get(r.panel) ?? 0) + r.series);
    return perPanel;
  };
  const seconds = (xs: readonly Measured[]) => (xs.reduce((s, r) => s + r.ms, 0) / 1000).toFixed(2);
  let out = `${table([
    ["dashboard", "queries", "on open s", "every row opened s", "slowest query s", "most series in a panel", "panels over 50 series", "errors"],
    ...[...byDashboard].map(([uid, rs]) => {
      const perPanel = panelSeries(rs);
      return [
        uid,
        rs.length,
        seconds(rs.filter((r) => r.onOpen)),
        seconds(rs),
        (Math.max(...rs.map((r) => r.ms)) / 1000).toFixed(3),
        Math.max(...perPanel.values()),
        [...perPanel.values()].filter((n) => n > 50).length,
        rs.filter((r) => r.error).length,
      ];
    }),
  ])}\n\nSlowest queries:\n\n`;
  const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, slowestCount);
  out += `${table([["s", "series", "dashboard", "panel", "query"], ...slowest.map((r) => [(r.ms / 1000).toFixed(3), r.series, r.dashboard, r.panel, r.expr.replace(/\s+/g, " ").slice(0, 120)])])}\n`;
  const wide = [...byDashboard].flatMap(([uid, rs]) => [...panelSeries(rs)].filter(([, n]) => n > 50).map(([panel, n]) => [uid, panel, n] as [string, string, number]));
  out += `\nPanels returning more than 50 series: ${wide.length ? "" : "none"}\n${wide.length ? `\n${table([["dashboard", "panel", "series"], ...wide.sort((a, b) => b[2] - a[2])])}\n` : ""}`;
  for (const r of results.filter((x) => x.error)) out += `error: ${r.dashboard} / ${r.panel}: ${r.error}\n`;
  return out;
}

async function main(): Promise<void> {
  if (process.argv.includes("--help")) {
    process.stdout.write(USAGE);
    return;
  }
  const shape = parseShape(process.argv.slice(2));
  const dir = shape.keep ?? (await mkdtemp(join(tmpdir(), "bench-dashboards-")));
  await mkdir(dir, { recursive: true });
  try {
    const baseline = shape.baseline ? await dashboardsOf(shape.baseline) : undefined;
    const meta = await buildHistory(dir, shape, shape.baseline ? await recordingRulesOf(shape.baseline) : undefined);
    const p = await prometheus(dir, shape.days);
    try {
      log("waiting for Prometheus to compact the backfilled blocks ...");
      await awaitCompaction(join(dir, "data"));
      const api = new HistoryApi(p.url, meta.end);
      const head = (await api.vector("count({__name__=~\".+\"})"))[0]?.value[1] ?? "?";
      const blocks = await blockCount(join(dir, "data"));
      process.stdout.write(
        `\n## Dashboards over ${shape.days} days of one host\n\n` +
          `Host: ${shape.gpus} GPUs (${shape.migGpus} split into ${shape.migInstances} MIG instances), ${shape.cpus} CPUs, ${shape.containers} containers alive (each ${shape.containerHours} h), ` +
          `${shape.workers} DRM workers alive (each ${shape.workerHours} h), ${shape.users} users; samples every ${shape.intervalSeconds} s.\n` +
          `History: ${meta.samples.toLocaleString()} raw samples, ${meta.seriesEver.toLocaleString()} raw series over the whole history, ${head} series at its end; ${blocks} blocks in the TSDB.\n`,
      );
      const versions: { label: string; source: DashboardSource }[] = [
        ...(baseline ? [{ label: `baseline (${shape.baseline})`, source: baseline }] : []),
        { label: baseline ? "this tree" : "", source: THIS_TREE },
      ];
      for (const days of shape.ranges.filter((r) => r <= shape.days)) {
        const rangeLabel = days === 1 ? "24h" : `${days}d`;
        // Warm-up: the first pass reads the blocks from disk.
        for (const v of versions) await measureRange(api, meta.end, days * 86400, log, v.source);
        // Versions take turns, so load on the machine falls on each alike; each query's median counts.
        const passes: Measured[][][] = versions.map(() => []);
        for (let pass = 0; pass < (baseline ? BASELINE_PASSES : 1); pass++) {
          for (const [i, v] of versions.entries()) passes[i]?.push(await measureRange(api, meta.end, days * 86400, log, v.source));
        }
        for (const [i, v] of versions.entries()) {
          process.stdout.write(`\n### Range ${rangeLabel}${v.label ? `, ${v.label}` : ""}\n\n${rangeReport(medianPass(passes[i] ?? []), shape.slowest)}`);
        }
      }
      process.stdout.write(`\nRecording rule groups, evaluated once at the end of the history:\n\n${await ruleEvaluation(api, meta.end)}\n`);
    } finally {
      await p.proc.stop();
    }
    log("evaluating the recording rules in Prometheus itself ...");
    const groups = await liveRuleGroupCost(dir, join(dir, "data"), meta.end, recordingRules(), shape.days);
    process.stdout.write(
      `\nRecording rule groups as Prometheus evaluates them on this history (prometheus_rule_group_last_duration_seconds):\n\n${table([
        ["rule group", "rules", "samples written", "last evaluation ms"],
        ...groups.map((g) => [g.group, g.rules, g.samples, g.lastDurationMs.toFixed(1)]),
      ])}\n`,
    );
  } finally {
    if (!shape.keep) await rm(dir, { recursive: true, force: true });
    else log(`kept ${dir}; run again with --keep ${dir} to reuse it`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
