import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_PATHS } from "../../components/render";
import { JOB_NAMES } from "../../components/config";
import type { SimulationOverrides } from "../../exporter/simulation/overrides";
import { dashboardQueries, dashboardVariables } from "../../dashboards";
import { perHostBudget, seriesBudget, type BudgetJob, type HostSize } from "../../metrics";
import { formatCounts, seriesBy } from "./checks/cost";
import { checkDashboardQueries, type DashboardCheck } from "./checks/dashboards";
import { describeAlert, waitForDelivery, type ExpectedAlert } from "./checks/alerts";
import { failedEvaluations, recordingRulesWithoutSeries, unhealthyRules } from "./checks/rules";
import { jobsInConfig, targetProblems } from "./checks/targets";
import { sleep, waitFor } from "../../cli/local/wait";
import { startLiveStack, type LiveStack } from "./live-stack";

/**
 * The generated stack, running for real on loopback: the proofs users depend on (issue 7).
 * Tests run in order against one shared stack; each says which job, query or alert was wrong.
 */

/** Conditions the simulator is driven into from its first tick. */
const HOT_GPU = "5";
const IDLE_SLOT = "6";
const IDLE_USER = "alice";
const DRIVEN: SimulationOverrides = {
  gpus: { [HOT_GPU]: { temperature: 97 } },
  slots: { [IDLE_SLOT]: { utilization: 0, user: IDLE_USER } },
};
/** The same GPU and slot back to normal: the conditions end, so their alerts must resolve. */
const NORMAL: SimulationOverrides = {
  gpus: { [HOT_GPU]: { temperature: 55 } },
  slots: { [IDLE_SLOT]: { utilization: 90, user: IDLE_USER } },
};

/**
 * What the driven conditions must produce, and where the loopback profile routes each severity
 * (test/e2e/Pulumi.e2e.yaml: receiver e2e-<severity> at URL path /<severity>).
 */
interface DrivenAlert extends ExpectedAlert {
  readonly severity: "critical" | "warning" | "info";
}
const HOT_GPU_ALERT: DrivenAlert = { alertname: "DS01GPUCriticalTemperature", labels: { gpu: HOT_GPU }, severity: "critical" };
const HOT_GPU_WARNING: ExpectedAlert = { alertname: "DS01GPUHighTemperature", labels: { gpu: HOT_GPU } };
/** The slot may already be held by another simulated user; the override keeps it allocated either way. */
const IDLE_SLOT_ALERT: DrivenAlert = { alertname: "DS01GPUWaste", labels: { gpu_slot: IDLE_SLOT }, severity: "warning" };
const EXPORTER_DOWN_ALERT: DrivenAlert = { alertname: "DS01ExporterDown", labels: { job: JOB_NAMES.exporter }, severity: "critical" };
/** Always firing (dead man's switch): the alert a silence is tried on across the restart. */
const WATCHDOG = "Watchdog";

const started = Date.now();
const phases: string[] = [];
let stack: LiveStack;
let anyFailed = false;

function mark(phase: string): void {
  phases.push(`${phase.padEnd(44)} ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`);
}

beforeAll(async () => {
  stack = await startLiveStack(DRIVEN);
  mark("stack started");
}, 90_000);

afterEach(({ task }) => {
  if (task.result?.state === "fail") anyFailed = true;
});

afterAll(async () => {
  mark("done");
  console.log(`[e2e] timeline:\n  ${phases.join("\n  ")}`);
  if (anyFailed && stack) {
    console.error(`[e2e] a test failed; last lines of each process (full logs and data kept in ${stack.workspace.root}):\n${stack.workspace.diagnostics(1_500)}`);
  }
  await stack?.stop(anyFailed);
}, 30_000);

describe("the generated stack on loopback", () => {
  it("1. every scrape job's targets are up", async () => {
    const prom = stack.prometheus.api;
    const jobs = jobsInConfig(stack.file(BUNDLE_PATHS.prometheusConfig).content);
    // The loopback profile turns Grafana, cAdvisor and the real DCGM exporter off; the simulated
    // DCGM endpoint takes the DCGM job.
    expect(jobs.sort()).toEqual(
      [JOB_NAMES.prometheus, JOB_NAMES.alertmanager, JOB_NAMES.nodeExporter, JOB_NAMES.dcgmExporter, JOB_NAMES.exporter].sort(),
    );
    let problems: string[] = [];
    await waitFor(
      "every target up",
      async () => {
        problems = targetProblems(await prom.activeTargets(), jobs);
        return problems.length === 0 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    ).catch(() => undefined);
    expect(problems, "scrape targets that are not up (job, URL, lastError)").toEqual([]);
    mark("1. targets up");
  }, 30_000);

  it("2. every rule group evaluates with health ok and every recording rule produces series", async () => {
    const prom = stack.prometheus.api;
    let unevaluated: string[] = [];
    await waitFor(
      "every rule evaluated at least once",
      async () => {
        const groups = await prom.ruleGroups();
        unevaluated = groups.flatMap((g) => g.rules.filter((r) => r.health === "unknown").map((r) => `group ${g.name}: ${r.name}`));
        return unevaluated.length === 0 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    ).catch(() => undefined);
    expect(unevaluated, "rules never evaluated").toEqual([]);
    let missing: string[] = [];
    await waitFor(
      "every recording rule to have series",
      async () => {
        missing = await recordingRulesWithoutSeries(prom, await prom.ruleGroups());
        return missing.length === 0 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 1_000 },
    ).catch(() => undefined);
    expect(missing, "recording rules with no output series").toEqual([]);
    // Health read after the recordings have data: some errors (many-to-many joins) need data to show.
    const groups = await prom.ruleGroups();
    const ruleFiles = stack.files.filter((f) => f.path.startsWith(`${BUNDLE_PATHS.prometheusRules}/`));
    expect(new Set(groups.map((g) => g.file.split("/").pop())).size, `files with rule groups, of ${ruleFiles.length} rendered`).toBe(ruleFiles.length);
    expect(unhealthyRules(groups), "rules whose evaluation failed (group, file, rule, lastError)").toEqual([]);
    expect(await failedEvaluations(prom), "rule groups with failed evaluations").toEqual([]);
    // What each group costs per evaluation; a group that takes a second is a query to rewrite.
    const costs = groups.map((g) => ({ group: g.name, ms: (g.evaluationTime ?? 0) * 1000 })).sort((a, b) => b.ms - a.ms);
    console.log(["[e2e] rule group evaluation times (ms)", ...costs.map((c) => `  ${c.group.padEnd(32)} ${c.ms.toFixed(2)}`)].join("\n"));
    expect(costs.filter((c) => c.ms >= 1000), "rule groups taking a second or more").toEqual([]);
    mark("2. rules healthy, recordings present");
  }, 60_000);

  it("3. every dashboard query executes, and every panel that expects data returns series", async () => {
    const prom = stack.prometheus.api;
    const queries = dashboardQueries();
    expect(queries.length, "dashboard queries generated").toBeGreaterThan(0);
    // Rates need two samples in their window and recordings one evaluation: retry "no series"
    // for a bounded time; a query Prometheus rejects fails on the first round all the same.
    let check: DashboardCheck | undefined;
    const deadline = Date.now() + 20_000;
    for (;;) {
      check = await checkDashboardQueries(prom, queries, dashboardVariables, { windowSeconds: 60, concurrency: 4 });
      const rejected = check.outcomes.some((o) => o.error !== undefined);
      if (check.problems.length === 0 || rejected || Date.now() > deadline) break;
      await sleep(2_000);
    }
    const byDashboard = new Map<string, { queries: number; withData: number }>();
    for (const o of check.outcomes) {
      const row = byDashboard.get(o.query.dashboardUid) ?? { queries: 0, withData: 0 };
      row.queries++;
      if (o.series > 0) row.withData++;
      byDashboard.set(o.query.dashboardUid, row);
    }
    console.log(
      `[e2e] dashboard queries (variables: ${Object.entries(check.variables)
        .map(([uid, vs]) => `${uid}{${vs.map((v) => v.describe).join(", ")}}`)
        .join(" ")}):\n${[...byDashboard].map(([uid, r]) => `  ${uid.padEnd(16)} ${r.queries} queries, ${r.withData} with series`).join("\n")}`,
    );
    expect(check.problems, "dashboard queries that failed or returned nothing (dashboard, panel, expr)").toEqual([]);
    mark("3. dashboard queries");
  }, 60_000);

  it("4a. driven conditions fire and reach the webhook on their severity's route", async () => {
    const apis = { prom: stack.prometheus.api, am: stack.alertmanager.api };
    const results = await Promise.allSettled(
      [HOT_GPU_ALERT, IDLE_SLOT_ALERT].map(async (e) => ({ e, d: await waitForDelivery(stack.webhook, e, "firing", 0, apis, 30_000) })),
    );
    const problems: string[] = [];
    for (const r of results) {
      if (r.status === "rejected") {
        problems.push(r.reason instanceof Error ? r.reason.message : String(r.reason));
        continue;
      }
      const { e, d } = r.value;
      const where = describeAlert(e);
      if (d.labels["severity"] !== e.severity) problems.push(`${where}: severity ${d.labels["severity"]}, expected ${e.severity}`);
      if (d.receiver !== `e2e-${e.severity}` || d.path !== `/${e.severity}`) {
        problems.push(`${where}: delivered to receiver ${d.receiver} at ${d.path}, expected e2e-${e.severity} at /${e.severity}`);
      }
      if (!d.annotations["summary"] || !d.annotations["runbook_url"]) problems.push(`${where}: missing summary or runbook_url annotation`);
      if (e === IDLE_SLOT_ALERT && !(d.labels["user"] && d.labels["container"])) {
        problems.push(`${where}: no user/container label to say whose allocation is idle: ${JSON.stringify(d.labels)}`);
      }
    }
    expect(problems, "driven alerts not delivered as expected").toEqual([]);
    mark("4a. driven alerts delivered");

    // The critical temperature alert inhibits the warning one for the same GPU.
    const inhibited = await waitFor(
      `${describeAlert(HOT_GPU_WARNING)} inhibited in Alertmanager by ${HOT_GPU_ALERT.alertname}`,
      async () => {
        const alerts = await stack.alertmanager.api.alerts();
        const warning = alerts.find((a) => a.labels["alertname"] === HOT_GPU_WARNING.alertname && a.labels["gpu"] === HOT_GPU);
        return warning && warning.status.state === "suppressed" && warning.status.inhibitedBy.length > 0 ? warning : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250 },
    );
    expect(inhibited.status.inhibitedBy.length).toBeGreaterThan(0);
    const leaked = stack.webhook.alerts().filter((a) => a.labels["alertname"] === HOT_GPU_WARNING.alertname && a.labels["gpu"] === HOT_GPU);
    expect(leaked.map((a) => `${a.receiver}:${a.status}`), `${describeAlert(HOT_GPU_WARNING)} delivered despite the critical one`).toEqual([]);
  }, 70_000);

  it("4b. the alerts resolve when the conditions end", async () => {
    const apis = { prom: stack.prometheus.api, am: stack.alertmanager.api };
    const since = Date.now();
    await stack.setOverrides(NORMAL);
    const results = await Promise.allSettled(
      [HOT_GPU_ALERT, IDLE_SLOT_ALERT].map((e) => waitForDelivery(stack.webhook, e, "resolved", since, apis, 20_000)),
    );
    const problems = results.flatMap((r) => (r.status === "rejected" ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    expect(problems, "alerts not resolved after the conditions ended").toEqual([]);
    mark("4b. driven alerts resolved");
  }, 40_000);

  it("4c. killing the exporter fires DS01ExporterDown on the critical route; restarting it resolves the alert", async () => {
    const apis = { prom: stack.prometheus.api, am: stack.alertmanager.api };
    const killedAt = Date.now();
    await stack.exporter.kill();
    let restartedAt = 0;
    try {
      const fired = await waitForDelivery(stack.webhook, EXPORTER_DOWN_ALERT, "firing", killedAt, apis, 20_000);
      expect(`${fired.receiver} ${fired.path} severity=${fired.labels["severity"]}`, describeAlert(EXPORTER_DOWN_ALERT)).toBe(
        `e2e-critical /critical severity=critical`,
      );
      mark("4c. exporter down delivered");
    } finally {
      // Back up whatever happened, so the tests after this one have their exporter.
      restartedAt = Date.now();
      await stack.startExporter();
    }
    await waitForDelivery(stack.webhook, EXPORTER_DOWN_ALERT, "resolved", restartedAt, apis, 20_000);
    mark("4c. exporter down resolved");
  }, 70_000);

  it("5. samples and silences survive a restart of Prometheus and Alertmanager", async () => {
    const prom = stack.prometheus.api;
    // Raw samples (a range selector at a fixed evaluation time), compared exactly before and after.
    const selector = `up{job="${JOB_NAMES.nodeExporter}"}[10m]`;
    let at = 0;
    const before = await waitFor(
      `at least 3 raw samples of ${selector}`,
      async () => {
        at = Math.floor(Date.now() / 1000);
        const r = await prom.query(selector, at);
        return r.resultType === "matrix" && (r.result[0]?.values.length ?? 0) >= 3 ? r : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 500 },
    );
    // Rules stayed healthy through the alert phase (targets down and back, conditions flipped).
    expect(await failedEvaluations(prom), "rule groups with failed evaluations before the restart").toEqual([]);
    const silenceId = await stack.alertmanager.api.createSilence(
      [{ name: "alertname", value: WATCHDOG, isRegex: false, isEqual: true }],
      3_600_000,
      "created before the restart by the e2e suite",
    );

    await Promise.all([stack.prometheus.proc.stop(), stack.alertmanager.proc.stop()]);
    await Promise.all([stack.startPrometheus(), stack.startAlertmanager()]);
    mark("5. Prometheus and Alertmanager restarted");

    const after = await stack.prometheus.api.query(selector, at);
    expect(after, `raw samples of ${selector} at ${at} after the restart`).toEqual(before);
    const silence = await stack.alertmanager.api.silence(silenceId);
    expect(silence.status.state, `silence ${silenceId} after the restart`).toBe("active");
    // Not only stored: it still mutes the alert once Prometheus sends it to the new Alertmanager.
    await waitFor(
      `${WATCHDOG} silenced by ${silenceId} after the restart`,
      async () => {
        const watchdog = (await stack.alertmanager.api.alerts()).find((a) => a.labels["alertname"] === WATCHDOG);
        return watchdog?.status.silencedBy.includes(silenceId) ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
  }, 60_000);

  it("6. reports the stack's own cost: series per simulated host and per job", async () => {
    // Wait for at least one scrape of every job after the restart so the counts are complete.
    await sleep(2_000);
    const prom = stack.prometheus.api;
    const byJob = await seriesBy(prom, ["job"]);
    const byInstance = await seriesBy(prom, ["job", "instance"]);
    const byHostname = await seriesBy(prom, ["Hostname"], '{Hostname!=""}');
    const jobs = seriesPerJob(byJob);
    // What grows with every GPU host: the exporters that run on each one. Prometheus and
    // Alertmanager scraping themselves, recordings and ALERTS are the stack's fixed cost.
    const perHostJobs = [JOB_NAMES.nodeExporter, JOB_NAMES.dcgmExporter, JOB_NAMES.exporter];
    const perHost = perHostJobs.reduce((sum, job) => sum + (jobs[job] ?? 0), 0);
    const total = byJob.reduce((sum, r) => sum + r.series, 0);
    console.log(
      [
        "[e2e] series in the loopback stack",
        `per simulated GPU host (${perHostJobs.join(" + ")}): ${perHost}; fixed cost of the stack: ${total - perHost}; total: ${total}`,
        formatCounts("per job:", ["job"], byJob),
        formatCounts("per target:", ["job", "instance"], byInstance),
        formatCounts("carrying a GPU host's DCGM Hostname label:", ["Hostname"], byHostname),
      ].join("\n"),
    );
    for (const job of jobsInConfig(stack.file(BUNDLE_PATHS.prometheusConfig).content)) {
      expect(jobs[job] ?? 0, `series of job ${job}`).toBeGreaterThan(0);
    }
    expect(byHostname.map((r) => r.labels["Hostname"]), "simulated GPU hosts with DCGM series").toHaveLength(1);
    // The series budget (metrics/budget.ts, docs/series-budget.md), for the host as Prometheus sees it.
    const count = async (expr: string): Promise<number> => Number((await prom.vector(`count(${expr})`))[0]?.value[1] ?? 0);
    const host: HostSize = {
      cpus: await count(`node_cpu_seconds_total{mode="idle"}`),
      networkDevices: await count("node_network_up"),
      filesystems: await count("node_filesystem_size_bytes"),
      disks: await count("node_disk_io_now"),
      gpuEntities: await count(`group by (gpu, GPU_I_ID) ({job="${JOB_NAMES.dcgmExporter}", __name__=~"DCGM_FI_.+"})`),
      allocations: await count("ds01_gpu_allocated"),
      users: await count("ds01_user_containers_count"),
      drmWorkers: await count("drm_worker_tasks"),
      containers: 0,
    };
    for (const job of [JOB_NAMES.nodeExporter, JOB_NAMES.dcgmExporter, JOB_NAMES.exporter, JOB_NAMES.prometheus, JOB_NAMES.alertmanager] as const) {
      const budget = seriesBudget(job as BudgetJob, host);
      console.log(`[e2e] series budget: ${job} ${jobs[job] ?? 0} of ${budget}`);
      expect(jobs[job] ?? 0, `series of job ${job} against its budget for ${JSON.stringify(host)}`).toBeLessThanOrEqual(budget);
    }
    expect(perHost, "series of one GPU host against its budget").toBeLessThanOrEqual(perHostBudget(host));
    mark("6. series counted");
  }, 30_000);
});

function seriesPerJob(rows: readonly { labels: Readonly<Record<string, string>>; series: number }[]): Record<string, number> {
  return Object.fromEntries(rows.map((r) => [r.labels["job"] ?? "", r.series]));
}
