import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { slurm } from "../../metrics";
import { setQuietLog } from "../../exporter/core/log";
import { runExporter, SLURM_SD_PATH, type StartedExporter } from "../../exporter/run";
import { parseMonitoringTarget } from "../../exporter/slurm/discovery";
import { loadStackConfigFile } from "../../components/config";
import { BUNDLE_PATHS, renderBundle } from "../../components/render";
import { ManagedProcess } from "../../cli/local/process";
import type { PrometheusApi } from "../../cli/local/prometheus-api";
import { freePort } from "../../cli/local/ports";
import { REPO_ROOT, startPrometheus } from "../../cli/local/services";
import { stackFile } from "../stack/harness";
import { waitFor } from "../../cli/local/wait";
import { httpGet, parseExposition, promtoolFindings, samples, value } from "../exporter/helpers";
import { runCli } from "../cli/harness";
import { SlurmCluster } from "./support/cluster";
import { serviceCommand } from "./support/service";

let cluster: SlurmCluster | undefined;
let whyNot = "";

function need(ctx: TestContext): SlurmCluster {
  if (!cluster) ctx.skip(`no SLURM cluster: ${whyNot}`);
  return cluster!;
}

beforeAll(async () => {
  setQuietLog(true);
  const started = await SlurmCluster.start();
  if (typeof started === "string") {
    whyNot = started;
    console.warn(`SKIPPING real-SLURM tests: ${started}`);
    return;
  }
  cluster = started;
});

afterAll(async () => {
  await cluster?.stop();
  setQuietLog(false);
});

async function scrape(exporter: StartedExporter): Promise<string> {
  return (await httpGet(`${exporter.url}/metrics`)).body;
}

/** The next page whose poll is newer than `after` (unix seconds), so it reflects the queue as it is now. */
async function pageAfter(exporter: StartedExporter, after: number): Promise<string> {
  return waitFor(
    "a SLURM poll newer than the last change",
    async () => {
      const page = await scrape(exporter);
      const last = value(page, "ds01_exporter_source_last_success_timestamp_seconds", { source: "slurm" });
      return last !== undefined && last > after ? page : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 200 },
  );
}

describe("SLURM source against a real cluster", () => {
  it("publishes nodes, partitions, jobs, pending reasons and GPUs held by jobs exactly as squeue and sinfo show them", { timeout: 120_000 }, async (ctx) => {
    const c = need(ctx);
    const svcPort = await freePort();
    const running1 = await c.submit({ user: "gpumon-alice", name: "ollama_abc123", account: "physics", gpus: 1, wrap: await serviceCommand(c.workDir, svcPort) });
    const running2 = await c.submit({ user: "gpumon-bob", name: "trainer", account: "chem", gpus: 1, wrap: "sleep 600" });
    await c.waitForState(running1, "RUNNING");
    await c.waitForState(running2, "RUNNING");
    const pendingGpu = await c.submit({ user: "gpumon-alice", name: "big", account: "physics", gpus: 2, wrap: "sleep 600" });
    const pendingCpu = await c.submit({ user: "gpumon-bob", name: "cpu-only", account: "chem", wrap: "sleep 600" });
    // squeue --json lists a pending array once; the exporter counts its tasks.
    const pendingArray = await c.submit({ user: "gpumon-bob", name: "sweep", account: "chem", gpus: 1, array: "0-2", wrap: "sleep 600" });
    await c.waitForState(pendingGpu, "PENDING");
    await c.waitForState(pendingCpu, "PENDING");
    await c.waitForState(`${pendingArray}_[0-2]`, "PENDING");
    // Reasons settle once the scheduler has looked at the new jobs.
    await waitFor("pending reasons", async () => ((await c.command("squeue", ["-h", "-t", "PENDING", "-o", "%r"])).includes("None") ? undefined : true), {
      timeoutMs: 15_000,
    });

    const exporter = await runExporter({ slurm: true, slurmConf: c.conf, slurmIntervalSeconds: 1, metricsPort: 0 });
    try {
      await exporter.ready;
      const page = await pageAfter(exporter, Date.now() / 1000);
      // -r: one line per array task, as the exporter counts them.
      const squeue = (await c.command("squeue", ["-h", "-r", "-o", "%i|%j|%u|%a|%T|%P|%r|%b"])).trim().split("\n");
      const sinfo = (await c.command("sinfo", ["-h", "-N", "-O", "NodeList:|,StateLong:|,CPUsState:|,Gres:|,GresUsed:"])).trim().split("\n");
      expect(squeue).toHaveLength(7);

      // Jobs: one series per state, partition, user and account, counted as squeue lists them.
      const expectedJobs = new Map<string, number>();
      const expectedPending = new Map<string, number>();
      for (const line of squeue) {
        const [, , user = "", account = "", state = "", partition = "", reason = ""] = line.split("|");
        const key = JSON.stringify({ state: state.toLowerCase(), partition, user, account: account === "(null)" ? "" : account });
        expectedJobs.set(key, (expectedJobs.get(key) ?? 0) + 1);
        if (state === "PENDING") expectedPending.set(JSON.stringify({ partition, reason }), (expectedPending.get(JSON.stringify({ partition, reason })) ?? 0) + 1);
      }
      const published = new Map(samples(page, "slurm_jobs").map((s) => [JSON.stringify({ state: s.labels.state, partition: s.labels.partition, user: s.labels.user, account: s.labels.account }), s.value]));
      expect(published).toEqual(expectedJobs);
      const publishedPending = new Map(samples(page, "slurm_jobs_pending").map((s) => [JSON.stringify({ partition: s.labels.partition, reason: s.labels.reason }), s.value]));
      expect(publishedPending).toEqual(expectedPending);

      // GPUs held by running jobs, per job, user and account; GPUs asked for by pending ones.
      for (const line of squeue.filter((l) => l.includes("|RUNNING|"))) {
        const [id = "", name = "", user = "", account = "", , partition = "", , tres = ""] = line.split("|");
        expect(tres).toBe("gres:gpu:1");
        expect(value(page, "slurm_job_gpus", { job_id: id, job_name: name, user, account, partition })).toBe(1);
      }
      expect(samples(page, "slurm_job_gpus")).toHaveLength(2);
      expect(value(page, "slurm_jobs_pending_gpus", { partition: "gpu" })).toBe(2 + 3);
      expect(value(page, "slurm_gpu_job_pending_max_seconds", { partition: "gpu" })).toBeGreaterThanOrEqual(0);

      // Nodes: state, CPUs (A/I/O/T) and GPUs exactly as sinfo shows them.
      expect(sinfo).toHaveLength(1);
      const [node = "", state = "", cpuState = "", gres = "", gresUsed = ""] = sinfo[0]!.split("|").map((s) => s.trim());
      const [alloc, idle, , total] = cpuState.split("/").map(Number);
      expect(node).toBe(c.nodeName);
      expect(value(page, "slurm_node_state", { node, state })).toBe(1);
      expect(value(page, "slurm_nodes", { state })).toBe(1);
      expect(value(page, "slurm_node_cpus", { node, state: "allocated" })).toBe(alloc);
      expect(value(page, "slurm_node_cpus", { node, state: "idle" })).toBe(idle);
      expect(value(page, "slurm_node_cpus", { node, state: "total" })).toBe(total);
      expect(gres).toBe("gpu:a100:2");
      expect(gresUsed).toMatch(/^gpu:a100:2\(IDX:0-1\)/);
      expect(value(page, "slurm_node_gpus", { node, state: "total" })).toBe(2);
      expect(value(page, "slurm_node_gpus", { node, state: "allocated" })).toBe(2);
      expect(value(page, "slurm_node_gpus", { node, state: "idle" })).toBe(0);
      expect(value(page, "slurm_partition_gpus", { partition: "gpu", state: "allocated" })).toBe(2);
      expect(value(page, "slurm_partition_cpus", { partition: "gpu", state: "total" })).toBe(total);
      expect(value(page, "slurm_partition_nodes", { partition: "gpu", state })).toBe(1);
      expect(value(page, "ds01_exporter_source_up", { source: "slurm" })).toBe(1);
      expect(value(page, "slurm_command_duration_seconds", { command: "squeue" })).toBeGreaterThan(0);

      // Every slurm_* metric of the catalog is on the page, and the page passes promtool.
      const exported = new Set(parseExposition(page).map((s) => s.name));
      expect(Object.values(slurm).map((m) => m.name).filter((n) => !exported.has(n) && n !== "slurm_discovered_targets")).toEqual([]);
      expect(await promtoolFindings(page)).toEqual([]);

      // Draining the busy node: sinfo says draining, and so does the exporter at the next poll.
      const before = Date.now() / 1000;
      await c.command("scontrol", ["update", `nodename=${c.nodeName}`, "state=drain", "reason=maintenance"]);
      const drained = await pageAfter(exporter, before);
      const longState = (await c.command("sinfo", ["-h", "-N", "-O", "StateLong"])).trim();
      expect(longState).toBe("draining");
      expect(value(drained, "slurm_node_state", { node, state: "draining" })).toBe(1);
      expect(samples(drained, "slurm_node_state")).toHaveLength(1);
      await c.command("scontrol", ["update", `nodename=${c.nodeName}`, "state=resume"]);
    } finally {
      await exporter.close();
      await c.cancelAll();
    }
  });

  it("a real Prometheus discovers the service a job runs by its job name, scrapes it, and drops it after scancel", { timeout: 180_000 }, async (ctx) => {
    const c = need(ctx);
    const dir = await mkdtemp(path.join(tmpdir(), "gm-slurm-prom-"));
    const svcPort = await freePort();
    const exporter = await runExporter({
      slurm: true,
      slurmConf: c.conf,
      slurmIntervalSeconds: 1,
      metricsPort: 0,
      slurmTargets: [parseMonitoringTarget(`ollama:${svcPort}:job-name=ollama_abc123`), parseMonitoringTarget(`fixed:${svcPort}:host=127.0.0.1`)],
    });
    let prom: { proc: ManagedProcess; api: PrometheusApi } | undefined;
    try {
      await exporter.ready;
      const promPort = await freePort();
      await writeFile(
        path.join(dir, "prometheus.yml"),
        [
          "global: { scrape_interval: 1s, evaluation_interval: 1s }",
          "scrape_configs:",
          "  - job_name: ollama",
          "    http_sd_configs:",
          `      - url: ${exporter.url}${SLURM_SD_PATH}?job=ollama`,
          "        refresh_interval: 1s",
          "    relabel_configs:",
          "      - { action: labelmap, regex: __meta_slurm_(.+), replacement: slurm_$1 }",
          "  - job_name: ds01-exporter",
          "    static_configs:",
          `      - targets: ["${exporter.url.replace("http://", "")}"]`,
          "",
        ].join("\n"),
      );
      prom = await startPrometheus({ configFile: path.join(dir, "prometheus.yml"), dataDir: path.join(dir, "data"), port: promPort, logDir: dir });
      const api = prom.api;

      // A job of the same name that cannot start yet is listed nowhere.
      const blocker = await c.submit({ user: "gpumon-bob", name: "hog", account: "chem", gpus: 2, wrap: "sleep 600" });
      await c.waitForState(blocker, "RUNNING");
      const queued = await c.submit({ user: "gpumon-alice", name: "ollama_abc123", account: "physics", gpus: 1, wrap: await serviceCommand(c.workDir, svcPort) });
      await c.waitForState(queued, "PENDING");
      await pageAfter(exporter, Date.now() / 1000);
      const sdPending = JSON.parse((await httpGet(`${exporter.url}${SLURM_SD_PATH}?job=ollama`)).body) as unknown[];
      expect(sdPending).toEqual([]);

      // The blocker ends; the service starts; Prometheus finds it on the node's address and scrapes it.
      await c.cancel(blocker);
      await c.waitForState(queued, "RUNNING", 60_000);
      const startedAt = Date.now();
      const sd = JSON.parse((await waitFor("the job in discovery", async () => {
        const r = await httpGet(`${exporter.url}${SLURM_SD_PATH}?job=ollama`);
        return r.status === 200 && r.body !== "[]" ? r.body : undefined;
      }, { timeoutMs: 15_000 }))) as { targets: string[]; labels: Record<string, string> }[];
      expect(sd).toEqual([
        {
          targets: [`127.0.0.1:${svcPort}`],
          labels: {
            __meta_slurm_job_id: queued,
            __meta_slurm_job_name: "ollama_abc123",
            __meta_slurm_user: "gpumon-alice",
            __meta_slurm_account: "physics",
            __meta_slurm_partition: "gpu",
            __meta_slurm_node: c.nodeName,
          },
        },
      ]);
      const up = await waitFor(
        "the discovered service up in Prometheus",
        async () => {
          const r = await api.vector(`up{job="ollama"}`);
          return r.length === 1 && r[0]!.value[1] === "1" ? r[0]! : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const delayMs = Date.now() - startedAt;
      console.log(`discovery delay, job RUNNING to target up: ${delayMs} ms (poll 1 s, SD refresh 1 s, scrape 1 s)`);
      expect(up.metric).toMatchObject({ instance: `127.0.0.1:${svcPort}`, slurm_job_id: queued, slurm_job_name: "ollama_abc123", slurm_user: "gpumon-alice", slurm_partition: "gpu" });
      expect(Number((await api.vector(`service_requests_total{job="ollama"}`))[0]?.value[1])).toBeGreaterThan(0);
      // The seed's operations on the CLI, against this Prometheus.
      const promUrl = ["--prometheus-url", `http://127.0.0.1:${promPort}`];
      const list = await runCli(["services", "list", ...promUrl]);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`ollama +${queued} +ollama_abc123 +gpumon-alice +gpu +${c.nodeName} +127\\.0\\.0\\.1:${svcPort} +up`));
      for (const id of ["ollama_abc123", queued]) {
        const endpoint = await runCli(["services", "endpoint", id, ...promUrl]);
        expect(endpoint.code, endpoint.stderr).toBe(0);
        expect(endpoint.stdout).toContain(`Node: ${c.nodeName}\n  Endpoint: http://127.0.0.1:${svcPort}\n  Metrics: http://127.0.0.1:${svcPort}/metrics\n  Status: up`);
      }
      const unknown = await runCli(["services", "endpoint", "no_such_service", ...promUrl]);
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toContain(`known services: ollama_abc123 (${queued})`);
      const report = await waitFor(
        "a session report with every section filled",
        async () => {
          const r = await runCli(["services", "report", "ollama_abc123", "--window", "1m", "-o", "json", "-q", ...promUrl]);
          const doc = JSON.parse(r.stdout) as { sections: { id: string; rows: { labels: Record<string, string>; value: number }[] }[] };
          return doc.sections.every((sec) => sec.rows.length === 1) ? doc : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 1_000 },
      );
      const section = (id: string) => report.sections.find((sec) => sec.id === id)!.rows[0]!;
      expect(section("targets")).toMatchObject({ value: 1, labels: { slurm_job_id: queued, slurm_job_name: "ollama_abc123", slurm_user: "gpumon-alice" } });
      expect(section("process_memory").value).toBeGreaterThan(1_000_000);
      expect(section("process_cpu").value).toBeGreaterThanOrEqual(0);
      expect(section("scrape_duration").value).toBeGreaterThan(0);
      expect(section("job_gpus")).toMatchObject({ value: 1, labels: { job_id: queued, job_name: "ollama_abc123", user: "gpumon-alice", account: "physics" } });
      const markdown = await runCli(["services", "report", queued, "--window", "1m", "-q", ...promUrl]);
      expect(markdown.stdout).toContain("- Targets up: 1 of 1\n\n## Services up");
      expect(markdown.stdout).toContain(`| ${queued} | ollama_abc123 | gpumon-alice | physics | gpu | 1 GPU |`);

      const page = await scrape(exporter);
      expect(value(page, "slurm_discovered_targets", { scrape_job: "ollama" })).toBe(1);
      expect(value(page, "slurm_discovered_targets", { scrape_job: "fixed" })).toBe(1);
      // The fixed host is listed under its own scrape job only.
      const fixed = JSON.parse((await httpGet(`${exporter.url}${SLURM_SD_PATH}?job=fixed`)).body) as unknown;
      expect(fixed).toEqual([{ targets: [`127.0.0.1:${svcPort}`], labels: { __meta_slurm_node: "127.0.0.1" } }]);

      // scancel: the job leaves discovery at the next poll and Prometheus drops the target.
      await c.cancel(queued);
      await waitFor(
        "the target gone from Prometheus",
        async () => ((await api.activeTargets()).some((t) => t.scrapePool === "ollama") ? undefined : true),
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(JSON.parse((await httpGet(`${exporter.url}${SLURM_SD_PATH}?job=ollama`)).body)).toEqual([]);
    } finally {
      await prom?.proc.stop();
      await exporter.close();
      await c.cancelAll();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("the hpc stack's exporter starts with its deployed flags and reads the cluster", { timeout: 90_000 }, async (ctx) => {
    const c = need(ctx);
    const cfg = loadStackConfigFile(stackFile("hpc"));
    const deployed = renderBundle(cfg).find((f) => f.path === BUNDLE_PATHS.hostExporterArgs)?.content.trim().split("\n") ?? [];
    const port = await freePort();
    // The head node's paths and port, swapped for this cluster's.
    const args = deployed.map((a) => (a.startsWith("--slurm-conf=") ? `--slurm-conf=${c.conf}` : a.startsWith("--metrics-port=") ? `--metrics-port=${port}` : a));
    expect(args.filter((a) => a.startsWith("--slurm"))).toHaveLength(deployed.filter((a) => a.startsWith("--slurm")).length);
    const dir = await mkdtemp(path.join(tmpdir(), "gm-slurm-hpc-"));
    const proc = await ManagedProcess.start("exporter", process.execPath, [path.join(REPO_ROOT, "bin", "gpu-monitoring.cjs"), "exporter", ...args], { logDir: dir, cwd: REPO_ROOT });
    try {
      const url = `http://127.0.0.1:${port}`;
      const page = await waitFor(
        "the exporter reading the cluster",
        async () => {
          const r = await httpGet(`${url}/metrics`).catch(() => undefined);
          return r && value(r.body, "ds01_exporter_source_up", { source: "slurm" }) === 1 ? r.body : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
        () => proc.logTail(1500),
      );
      expect(value(page, "slurm_node_gpus", { node: c.nodeName, state: "total" })).toBe(2);
      expect(JSON.parse((await httpGet(`${url}${SLURM_SD_PATH}?job=specific-node`)).body)).toEqual([{ targets: ["mel2073:9100"], labels: { __meta_slurm_node: "mel2073" } }]);
      expect(JSON.parse((await httpGet(`${url}${SLURM_SD_PATH}?job=ollama`)).body)).toEqual([]);
    } finally {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
