import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertingSchema, thresholdsSchema } from "../../alerts/config";
import { renderRuleFiles } from "../../alerts/render";
import { SENTINEL_SAMPLE } from "../../alerts/rules/fixtures";
import { freeLoopbackPort } from "./tools";

/**
 * The rendered rules loaded by a real Prometheus, scraping a page shaped like a DS01 host: two
 * full GPUs (one idle, one reporting a blank temperature), one MIG instance whose engine ratio
 * must come out in percent, and DS01's allocations. Every rule must evaluate without error, and
 * the joins must produce the values the dashboards read.
 */
const GPU = 'modelName="NVIDIA A100-SXM4-40GB",Hostname="gpu-host-1",job="dcgm-exporter",instance="gpu-host-1:9400"';
const DS01 = 'job="ds01-exporter",instance="gpu-host-1:9101"';
const PAGE = [
  `DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-0",${GPU}} 2`,
  `DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-1",${GPU}} 80`,
  `DCGM_FI_DEV_GPU_UTIL{gpu="2",UUID="GPU-2",${GPU}} ${SENTINEL_SAMPLE}`,
  `DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="2",UUID="GPU-2",GPU_I_ID="1",GPU_I_PROFILE="3g.20gb",${GPU}} 0.42`,
  `DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-0",${GPU}} 60`,
  `DCGM_FI_DEV_GPU_TEMP{gpu="1",UUID="GPU-1",${GPU}} ${SENTINEL_SAMPLE}`,
  `DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-0",${GPU}} 1000`,
  `DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-0",${GPU}} 3000`,
  `DCGM_FI_DEV_XID_ERRORS{gpu="0",UUID="GPU-0",${GPU}} 0`,
  `ds01_gpu_slot_info{gpu="0",slot="0",gpu_slot="0",gpu_uuid="GPU-0",model="A100",mig_enabled="false",${DS01}} 1`,
  `ds01_gpu_slot_info{gpu="1",slot="1",gpu_slot="1",gpu_uuid="GPU-1",model="A100",mig_enabled="false",${DS01}} 1`,
  `ds01_mig_slot_info{gpu="2",gpu_i_id="1",slot="2.0",mig_uuid="MIG-2.0",profile="3g.20gb",${DS01}} 1`,
  `ds01_mig_mapping_status{mapped="1",unmapped="0",${DS01}} 1`,
  `ds01_gpu_allocated{gpu_slot="0",gpu_uuid="GPU-0",profile="full",container="train-1",user="alice",interface="cli",${DS01}} 1`,
  `ds01_gpu_allocated{gpu_slot="2.0",gpu_uuid="MIG-2.0",profile="3g.20gb",container="nb-2",user="bob",interface="jupyter",${DS01}} 1`,
  `ds01_gpu_equivalents{gpu_slot="0",profile="full",container="train-1",user="alice",${DS01}} 1`,
  `ds01_gpu_equivalents{gpu_slot="2.0",profile="3g.20gb",container="nb-2",user="bob",${DS01}} 0.428571`,
  `ds01_containers_total{status="running",interface="cli",${DS01}} 2`,
  "",
].join("\n");

describe("rendered rules in a running Prometheus", () => {
  let prometheus: ChildProcess | undefined;
  let page: Server | undefined;
  let dir = "";
  let base = "";

  const query = async (expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return body.data.result;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gpu-monitoring-prom-"));
    const pagePort = await freeLoopbackPort();
    page = createServer((_, res) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(PAGE));
    await new Promise<void>((resolve) => page?.listen(pagePort, "127.0.0.1", resolve));

    // maxFor also caps group intervals, so every group evaluates within a second or two.
    const files = renderRuleFiles({
      thresholds: thresholdsSchema.parse(undefined),
      // A DS01 host runs no kube-state-metrics: its stack leaves the Kubernetes alerts out (their recording rules stay).
      alerting: alertingSchema.parse({ maxFor: "1s", ruleSets: { kubernetes: false } }),
      retentionSize: "1GB",
    });
    await mkdir(join(dir, "rules"));
    for (const f of files) await writeFile(join(dir, "rules", f.fileName), f.content);
    await writeFile(
      join(dir, "prometheus.yml"),
      stringify({
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: [join(dir, "rules", "*.yml")],
        scrape_configs: [{ job_name: "page", honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${pagePort}`] }] }],
      }),
    );
    const port = await freeLoopbackPort();
    base = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      "prometheus",
      [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: "ignore" },
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      // Each group evaluates on its own schedule: wait until the last group in each chain has seen a scrape.
      const evaluated = await Promise.all(
        ["ds01:allocation_utilization", "ds01:device_temperature", "ds01:gpu_waste_count > 0", "ds01:system_gpu_temp_max > 0", "ds01:system_gpu_equivalents_free < 3", "ds01:user_gpu_memory_percent"].map(
          (q) => query(q).then((r) => r.length > 0, () => false),
        ),
      ).then((all) => all.every(Boolean));
      if (evaluated) break;
      if (Date.now() > deadline) throw new Error("Prometheus did not evaluate the recording rules within 60s");
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  afterAll(async () => {
    prometheus?.kill("SIGTERM");
    await new Promise<void>((resolve) => (page ? page.close(() => resolve()) : resolve()));
    await new Promise((r) => setTimeout(r, 500));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("loads every rule and evaluates each without error", async () => {
    const body = (await (await fetch(`${base}/api/v1/rules`)).json()) as {
      data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const rules = body.data.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));
    const expected = renderRuleFiles({ thresholds: thresholdsSchema.parse(undefined), alerting: alertingSchema.parse({ ruleSets: { kubernetes: false } }), retentionSize: "1GB" })
      .flatMap((f) => [...f.content.matchAll(/^\s+- (?:alert|record): (\S+)$/gm)].map((m) => m[1]));
    expect(rules.map((r) => r.name).sort()).toEqual(expected.sort());
    const deadline = Date.now() + 30_000;
    let unhealthy = rules.filter((r) => r.health !== "ok");
    while (unhealthy.some((r) => r.health === "unknown") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      const again = (await (await fetch(`${base}/api/v1/rules`)).json()) as typeof body;
      unhealthy = again.data.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r }))).filter((r) => r.health !== "ok");
    }
    expect(unhealthy.map((r) => `${r.group}/${r.name}: ${r.health} ${r.lastError ?? ""}`)).toEqual([]);
  });

  it("joins allocations to utilisation on one 0-100 scale, MIG included, blank values dropped", async () => {
    const alloc = await query("ds01:allocation_utilization");
    const bySlot = Object.fromEntries(alloc.map((s) => [s.metric.gpu_slot, Number(s.value[1])]));
    expect(bySlot).toEqual({ "0": 2, "2.0": 42 });
    const devices = (await query("ds01:device_utilization")).map((s) => `${s.metric.device}=${Number(s.value[1])}`).sort();
    expect(devices).toEqual(["GPU 0=2", "GPU 1=80", "MIG 2.0=42"]);
    expect((await query("ds01:system_gpu_temp_max"))[0]?.value[1]).toBe("60");
    expect((await query("ds01:gpu_waste_count"))[0]?.value[1]).toBe("1");
    expect((await query("ds01:gpu_waste_percent"))[0]?.value[1]).toBe("50");
    expect(Number((await query("ds01:system_gpu_equivalents_free"))[0]?.value[1])).toBeCloseTo(3 - 1.428571, 5);
    expect((await query("ds01:user_gpu_memory_percent")).map((s) => `${s.metric.user}=${s.value[1]}`)).toEqual(["alice=25"]);
  });

  it("fires what the page warrants and nothing for the blank readings", async () => {
    const firing = async () => (await query('ALERTS{alertstate="firing"}')).map((s) => `${s.metric.alertname}${s.metric.gpu_slot ? `/${s.metric.gpu_slot}` : ""}`).sort();
    const deadline = Date.now() + 20_000;
    let names = await firing();
    while (!names.includes("DS01GPUWaste/0") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      names = await firing();
    }
    // Hold times are capped at 1s here; give every other alert the same chance to show up.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await firing()).toEqual(["DS01GPUWaste/0", "Watchdog"]);
  });
});
