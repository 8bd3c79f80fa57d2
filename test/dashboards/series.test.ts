import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureRange, HistoryApi, type Measured } from "../../bench/dashboards/measure";
import { parseShape } from "../../bench/dashboards/shape";
import { backfillRaw } from "../../bench/dashboards/tsdb";
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

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dash-series-"));
  await mkdir(join(dir, "data"));
  // 60 workers alive, each for 2 h: 720 over the day; 40 containers for 2 h each: 480.
  const shape = parseShape(["--days", "1", "--interval", "300", "--gpus", "2", "--cpus", "4", "--workers", "60", "--worker-hours", "2", "--containers", "40", "--container-hours", "2"]);
  const end = Math.floor(Date.now() / 1000 / 7200) * 7200;
  await backfillRaw(shape, join(dir, "data"), dir, end - DAY, end, () => {});
  const port = await freePort();
  await writeFile(join(dir, "prometheus.yml"), "scrape_configs: []\n");
  const p = await startPrometheus({ configFile: join(dir, "prometheus.yml"), dataDir: join(dir, "data"), port, logDir: dir, retention: "3d" });
  prometheus = p.proc;
  results = await measureRange(new HistoryApi(`http://127.0.0.1:${port}`, end), end, DAY);
}, 180_000);

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
    for (const r of results) perPanel.set(`${r.dashboard} / ${r.panel}`, (perPanel.get(`${r.dashboard} / ${r.panel}`) ?? 0) + r.series);
    const over = [...perPanel].filter(([, n]) => n > MAX_SERIES);
    expect(over).toEqual([]);
    // The churn is really there: the raw worker series outnumber the limit many times over.
    expect(Math.max(...results.filter((r) => r.panel === "Busiest workers (CPU over the range)").map((r) => r.series))).toBeGreaterThan(0);
  });
});
