import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../cli/local/ports";
import { startPrometheus as startLocalPrometheus } from "../../cli/local/services";
import { waitFor } from "../../cli/local/wait";
import { explainScrapeError, reportQueries } from "../../cli/report";
import { checkAgainstCatalog } from "../../metrics/analyze";
import { closedPort, runCli } from "./harness";
import { startPrometheus, type PrometheusFixture } from "./prometheus-fixture";

let prom: PrometheusFixture;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gm-query-"));
  prom = await startPrometheus();
}, 60_000);
afterAll(async () => {
  await prom?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface VectorJson {
  kind: string;
  query: string;
  resultType: string;
  result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[];
}

describe("query against a real Prometheus", () => {
  it("prints an instant query as a table, one column per label, names as they are", async () => {
    const r = await runCli(["query", "up", "--prometheus-url", prom.url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^__name__\s+instance\s+job\s+VALUE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)).map((c) => [c[2], c[3]]).sort()).toEqual([
      ["fixture", "1"],
      ["prometheus", "1"],
    ]);
    expect(r.stderr).toBe("querying\n");
  });

  it("prints JSON with the series and values the target serves, taking the URL from PROMETHEUS_URL", async () => {
    const r = await runCli(["query", "DCGM_FI_DEV_GPU_UTIL", "-o", "json", "-q"], { env: { PROMETHEUS_URL: prom.url } });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const body = JSON.parse(r.stdout) as VectorJson;
    expect(body).toMatchObject({ kind: "instant", query: "DCGM_FI_DEV_GPU_UTIL", resultType: "vector" });
    expect(body.result.map((s) => [s.metric.gpu, s.value?.[1]]).sort()).toEqual([
      ["0", "87"],
      ["1", "12"],
    ]);
  });

  it("runs a range query and collects it to a file", async () => {
    const out = join(dir, "range.json");
    const r = await runCli(["query", 'DCGM_FI_DEV_GPU_UTIL{gpu="0"}', "--prometheus-url", prom.url, "--range", "20s", "--step", "1s", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`wrote 1 series (matrix) to ${out}`);
    const body = JSON.parse(await readFile(out, "utf8")) as VectorJson & { stepSeconds: number; start: string; end: string };
    expect(body.kind).toBe("range");
    expect(body.stepSeconds).toBe(1);
    expect(Date.parse(body.end) - Date.parse(body.start)).toBe(20_000);
    const values = body.result[0]?.values ?? [];
    expect(values.length).toBeGreaterThanOrEqual(2);
    expect(new Set(values.map((v) => v[1]))).toEqual(new Set(["87"]));

    const raw = await runCli(["query", 'DCGM_FI_DEV_GPU_UTIL{gpu="1"}', "--prometheus-url", prom.url, "--range", "5s", "--step", "1s", "--raw"]);
    expect(raw.stdout.split("\n")[0]).toMatch(/TIME\s+VALUE$/);
    expect(raw.stdout).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\s+12\n/);
  });

  it("summarises a range query per series in the metric's unit, GPUs in order", async () => {
    const r = await runCli(["query", "DCGM_FI_DEV_GPU_UTIL", "--prometheus-url", prom.url, "--range", "5s", "--step", "1s", "-q"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^__name__\s+gpu\s+.*\s+MIN\s+AVG\s+MAX\s+LAST\s+POINTS$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^DCGM_FI_DEV_GPU_UTIL\s+0\s.*87 %\s+87 %\s+87 %\s+87 %\s+\d+$/);
    expect(lines[2]).toMatch(/^DCGM_FI_DEV_GPU_UTIL\s+1\s.*12 %\s+12 %\s+12 %\s+12 %\s+\d+$/);
    // An aggregation keeps the unit; arithmetic on it does not.
    const avg = await runCli(["query", "avg(DCGM_FI_DEV_GPU_UTIL)", "--prometheus-url", prom.url, "-q"]);
    expect(avg.stdout.trim().split("\n")[1]).toBe("49.5 %");
    const scaled = await runCli(["query", "avg(DCGM_FI_DEV_GPU_UTIL) / 100", "--prometheus-url", prom.url, "-q"]);
    expect(scaled.stdout.trim().split("\n")[1]).toBe("0.495");
  });

  it("says what to do with bad PromQL, a wrong URL, no URL, or a range too fine", async () => {
    const bad = await runCli(["query", "sum(", "--prometheus-url", prom.url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Prometheus refused the query: bad_data");
    expect(bad.stderr).toContain("next: fix the PromQL expression");

    const notProm = await runCli(["query", "up", "--prometheus-url", prom.target.url]);
    expect(notProm.code).toBe(1);
    expect(notProm.stderr).toContain("not a Prometheus API response");

    const port = await closedPort();
    const down = await runCli(["query", "up", "--prometheus-url", `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`cannot reach http://127.0.0.1:${port}/api/v1/query: ECONNREFUSED`);

    // Wrong usage, not a failure: exit 2, as for every command.
    const none = await runCli(["query", "up"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("next: pass --prometheus-url http://HOST:9090 or set PROMETHEUS_URL");

    const tooFine = await runCli(["query", "up", "--prometheus-url", prom.url, "--range", "30d", "--step", "1s"]);
    expect(tooFine.code).toBe(2);
    const badDuration = await runCli(["query", "up", "--prometheus-url", prom.url, "--range", "soon"]);
    expect(badDuration.code).toBe(2);
    expect(badDuration.stderr).toContain('--range "soon" is not a duration');
    expect(tooFine.stderr).toContain("more than Prometheus allows");
  });
});

describe("status against a real Prometheus", () => {
  it("finds Prometheus healthy on /-/healthy and its own /metrics full of samples", async () => {
    const r = await runCli(["status", "--prometheus-url", prom.url, "--node-exporter-url", prom.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/prometheus\s+healthy\s+\d+ ms\s+http:\/\/127\.0\.0\.1:\d+\/-\/healthy\s+Prometheus (Server )?is Healthy\./);
    expect(r.stdout).toMatch(/nodeExporter\s+healthy\s+.*\/metrics\s+\d+ samples/);
  });
});

describe("report against a real Prometheus", () => {
  it("asks only catalog metrics with their own labels", () => {
    for (const q of reportQueries("5m")) expect(checkAgainstCatalog(q.expr), q.id).toEqual([]);
  });

  it("reports targets, memory, GPU utilisation and allocations from the scraped values, as Markdown", async () => {
    const r = await runCli(["report", "--prometheus-url", prom.url, "--window", "10s"]);
    expect(r.code).toBe(0);
    const md = r.stdout;
    expect(md).toContain("- Targets up: 2 of 2");
    expect(md).toContain("- GPUs reporting utilisation: 2");
    expect(md).toContain("- GPU-equivalents allocated (DS01): 1.429");
    expect(md).toMatch(/\| gpu01 \| 0 \| NVIDIA A100-SXM4-40GB \| 87\.0% \|/);
    expect(md).toMatch(/\| gpu01 \| 1 \| NVIDIA A100-SXM4-40GB \| 12\.0% \|/);
    // 1 - 4 GiB available / 16 GiB total
    expect(md).toContain("## Host memory used\n\n`1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes`\n\n| instance | value |\n| --- | --- |\n| 127.0.0.1:");
    expect(md).toMatch(/\| 127\.0\.0\.1:\d+ \| 75\.0% \|/);
    expect(md).toContain("| alice | 1 GPU |");
    expect(md).toContain("| bob | 0.429 GPU |");
    expect(md).toMatch(/\| prometheus \| 127\.0\.0\.1:\d+ \| \d+\.\d MiB \|/);
    expect(md).toContain("## Host CPU busy");
    expect(md).toContain("No data: node-exporter is not scraped.");
    expect(md).toContain("No data: the exporter's DRM source is not enabled.");
    expect(r.stderr).toContain("[1/10] Targets up");
    expect(r.stderr).toContain("[10/10] GPU-equivalents per user (DS01)");
  });

  it("writes report.md and report.json with the same figures, at a fixed --time", async () => {
    const at = new Date(Date.now() - 1_000).toISOString();
    const out = join(dir, "report");
    const r = await runCli(["report", "--prometheus-url", prom.url, "--window", "10s", "--time", at, "--out-dir", out]);
    expect(r.code).toBe(0);
    const json = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as {
      generatedAt: string;
      summary: Record<string, number>;
      sections: { id: string; rows: { labels: Record<string, string>; value: number }[] }[];
    };
    expect(json.generatedAt).toBe(at);
    expect(json.summary).toEqual({ targetsUp: 2, targetsTotal: 2, gpusReporting: 2, allocatedGpuEquivalents: 1.429 });
    expect(json.sections.map((s) => s.id)).toEqual(reportQueries("10s").map((q) => q.id));
    const allocations = json.sections.find((s) => s.id === "allocations")?.rows;
    expect(allocations).toEqual([
      { labels: { gpu_slot: "0", profile: "full", user: "alice", container: "train-alice" }, value: 1 },
      { labels: { gpu_slot: "1.0", profile: "3g.20gb", user: "bob", container: "nb-bob" }, value: 0.428571 },
    ]);
    const md = await readFile(join(out, "report.md"), "utf8");
    expect(md).toContain(`Generated ${at}`);
    expect(md).toContain("- Targets up: 2 of 2");
  });

  it("fails at once with a next step when Prometheus is not there, before any progress line", async () => {
    const port = await closedPort();
    const r = await runCli(["report", "--prometheus-url", `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*ECONNREFUSED/);
    expect(r.stderr).not.toContain("[1/");
    expect(r.stderr).toContain("next: check --prometheus-url");
  });

  it("writes a self-contained HTML page with charts of GPU utilisation and allocations per user", async () => {
    const r = await runCli(["report", "--prometheus-url", prom.url, "--window", "10s", "--range", "30s", "--format", "html", "-q"]);
    expect(r.code, r.stderr).toBe(0);
    const page = r.stdout;
    expect(page.startsWith("<!doctype html>")).toBe(true);
    // uPlot itself is in the page, and nothing is loaded from elsewhere.
    expect(page).toContain("uPlot");
    expect(page).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    const json = /<script type="application\/json" id="chart-data">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? "[]";
    const charts = JSON.parse(json) as { id: string; times: number[]; series: { name: string; values: (number | null)[] }[] }[];
    const gpu = charts.find((c) => c.id === "gpu_utilisation");
    expect(gpu?.series.map((x) => x.name)).toEqual(["gpu01 GPU 0", "gpu01 GPU 1"]);
    expect(new Set(gpu?.series[0]?.values.filter((v) => v !== null))).toEqual(new Set([87]));
    expect(gpu?.times.length).toBeGreaterThan(1);
    const users = charts.find((c) => c.id === "user_allocations");
    expect(users?.series.map((x) => x.name)).toEqual(["alice", "bob"]);
    expect(page).toContain('<div class="chart" id="chart-gpu_utilisation"></div>');
    expect(page).toContain("<td>alice</td><td>1 GPU</td>");
  });
});

describe("report tells a target that is down from one that is not scraped", () => {
  it("names the job and the reason, DNS included", async () => {
    expect(
      explainScrapeError('Get "http://gpu-monitoring-node-exporter:9100/metrics": dial tcp: lookup gpu-monitoring-node-exporter on 127.0.0.53:53: no such host'),
    ).toBe("DNS: gpu-monitoring-node-exporter does not resolve from Prometheus (no such host)");
    const ws = await mkdtemp(join(tmpdir(), "gm-report-down-"));
    const [promPort, closed] = [await freePort(), await closedPort()];
    const config = join(ws, "prometheus.yml");
    await writeFile(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "scrape_configs:",
        "  - job_name: node-exporter",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${closed}"]`,
        "",
      ].join("\n"),
    );
    const { proc } = await startLocalPrometheus({ configFile: config, dataDir: join(ws, "data"), port: promPort, logDir: ws });
    try {
      const url = `http://127.0.0.1:${promPort}`;
      await waitFor("the node-exporter target to be scraped and down", async () => {
        const r = await runCli(["query", "up", "--prometheus-url", url, "-q"]);
        return /node-exporter\s+0$/m.test(r.stdout) ? true : undefined;
      }, { timeoutMs: 20_000, intervalMs: 500 });
      const r = await runCli(["report", "--prometheus-url", url, "-q"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("## Host CPU busy");
      expect(r.stdout).toContain("No data: node-exporter target down (connection refused: nothing listens at the target's address).");
      // No dcgm-exporter job at all: that one is not scraped.
      expect(r.stdout).toContain("No data: DCGM exporter is not scraped");
    } finally {
      await proc.stop();
      await rm(ws, { recursive: true, force: true });
    }
  }, 60_000);
});
