import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureRange, HistoryApi, type Measured } from "../../bench/dashboards/measure";
import { parseShape } from "../../bench/dashboards/shape";
import { backfillRaw, backfillRules, recordingRules, ruleLayers } from "../../bench/dashboards/tsdb";
import { freePort } from "../../cli/local/ports";
import type { ManagedProcess } from "../../cli/local/process";
import { startPrometheus } from "../../cli/local/services";

/**
 * No panel draws more than MAX_SERIES series with the dashboard's defaults, on a real Prometheus
 * holding a day of a host whose containers and DRM workers churn (a new one every few minutes,
 * hundreds over the day): per-entity panels must rank, aggregate or read the one the variable picks.
 */
const MAX_SERIES = 50;
const DAY = 86400;

let dir: string;
let prometheus: ManagedProcess | undefined;
let results: Measured[] = [];
/** Allocations alive at the end of the day, every one a row if the table listed them all. */
let liveAllocations = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dash-series-"));
  await mkdir(join(dir, "data"));
  // 60 workers alive, each for 2 h: 720 over the day; 60 containers for 2 h each, every one
  // holding a GPU or MIG slot: 720 over the day. Samples every 60 s, so the live ones are inside
  // Prometheus' 5-minute lookback at the end of the history, as on a scraped host.
  const shape = parseShape(["--days", "1", "--interval", "60", "--gpus", "2", "--cpus", "4", "--workers", "60", "--worker-hours", "2", "--containers", "60", "--container-hours", "2"]);
  const end = Math.floor(Date.now() / 1000 / 7200) * 7200;
  await backfillRaw(shape, join(dir, "data"), dir, end - DAY, end, () => {});
  await writeFile(join(dir, "prometheus.yml"), "scrape_configs: []\n");
  const serve = async () => {
    const port = await freePort();
    const p = await startPrometheus({ configFile: join(dir, "prometheus.yml"), dataDir: join(dir, "data"), port, logDir: dir, retention: "3d" });
    return { proc: p.proc, port };
  };
  // The recorded series over the whole day too: panels read them, and per-container ones churn.
  for (const layer of ruleLayers(recordingRules())) {
    const p = await serve();
    try {
      await backfillRules(layer, `http://127.0.0.1:${p.port}`, join(dir, "data"), dir, end - DAY, end, "60s");
    } finally {
      await p.proc.stop();
    }
  }
  const { proc, port } = await serve();
  prometheus = proc;
  const api = new HistoryApi(`http://127.0.0.1:${port}`, end);
  liveAllocations = Number((await api.vector("count(ds01_gpu_allocated)"))[0]?.value[1] ?? 0);
  results = await measureRange(api, end, DAY);
}, 300_000);

afterAll(async () => {
  await prometheus?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("dashboards over a day of churn", () => {
  it("run every query without error", () => {
    expect(results.length).toBeGreaterThan(100);
    expect(results.filter((r) => r.error).map((r) => `${r.dashboard} / ${r.panel}: ${r.error}`)).toEqual([]);
  });

  it(`return at most ${MAX_SERIES} series per panel`, () => {
    const perPanel = new Map<string, number>();
    for (const r of results.filter((x) => !x.variable)) perPanel.set(`${r.dashboard} / ${r.panel}`, (perPanel.get(`${r.dashboard} / ${r.panel}`) ?? 0) + r.series);
    const over = [...perPanel].filter(([, n]) => n > MAX_SERIES);
    expect(over).toEqual([]);
    // The churn is really there: the raw worker series outnumber the limit many times over.
    expect(Math.max(...results.filter((r) => r.panel === "Busiest workers (CPU over the range)").map((r) => r.series))).toBeGreaterThan(0);
    // More allocations are live than a panel may draw, and the allocation table still shows some.
    expect(liveAllocations).toBeGreaterThan(MAX_SERIES);
    expect(perPanel.get("ds01-overview / GPU → user → container")).toBeGreaterThan(0);
  });
});
