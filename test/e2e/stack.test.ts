import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_PATHS } from "../../components/render";
import { JOB_NAMES } from "../../components/config";
import type { SimulationOverrides } from "../../exporter/simulation/overrides";
import { formatCounts, seriesBy } from "./checks/cost";
import { recordingRulesWithoutSeries, unhealthyRules } from "./checks/rules";
import { jobsInConfig, targetProblems } from "./checks/targets";
import { sleep, waitFor } from "./harness/wait";
import { LiveStack } from "./live-stack";

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
const started = Date.now();
const phases: string[] = [];
let stack: LiveStack;
let anyFailed = false;

function mark(phase: string): void {
  phases.push(`${phase.padEnd(44)} ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`);
}

beforeAll(async () => {
  stack = await LiveStack.start(DRIVEN);
  mark("stack started");
}, 90_000);

afterEach(({ task }) => {
  if (task.result?.state !== "fail") return;
  anyFailed = true;
  console.error(`\n[e2e] "${task.name}" failed; process logs (${stack?.workspace.logDir ?? "no workspace"}):\n${stack?.workspace.diagnostics() ?? ""}`);
});

afterAll(async () => {
  mark("done");
  console.log(`[e2e] timeline:\n  ${phases.join("\n  ")}`);
  if (anyFailed && stack) console.error(`[e2e] workspace kept for inspection: ${stack.workspace.root}`);
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

  it("3. every rule group evaluates with health ok and every recording rule produces series", async () => {
    const prom = stack.prometheus.api;
    const groups = await waitFor(
      "every rule evaluated at least once",
      async () => {
        const g = await prom.ruleGroups();
        return g.every((group) => group.rules.every((r) => r.health !== "unknown")) ? g : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    const ruleFiles = stack.files.filter((f) => f.path.startsWith(`${BUNDLE_PATHS.prometheusRules}/`));
    expect(groups.length, `rule groups loaded from ${ruleFiles.length} rendered rule files`).toBeGreaterThanOrEqual(ruleFiles.length);
    expect(unhealthyRules(groups), "rules whose evaluation failed").toEqual([]);
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
    mark("3. rules healthy, recordings present");
  }, 60_000);

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
    const silenceId = await stack.alertmanager.api.createSilence(
      [{ name: "alertname", value: "E2ESilenceProbe", isRegex: false, isEqual: true }],
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
  }, 60_000);

  it("6. reports the stack's own cost: series per simulated host and per job", async () => {
    // Wait for at least one scrape of every job after the restart so the counts are complete.
    await sleep(2_000);
    const prom = stack.prometheus.api;
    const byJob = await seriesBy(prom, ["job"]);
    const byInstance = await seriesBy(prom, ["job", "instance"]);
    const byHost = await seriesBy(prom, ["Hostname"], '{Hostname!=""}');
    console.log(
      [
        "[e2e] series in the loopback stack",
        formatCounts("per job:", ["job"], byJob),
        formatCounts("per target:", ["job", "instance"], byInstance),
        formatCounts("per simulated GPU host (DCGM Hostname label):", ["Hostname"], byHost),
      ].join("\n"),
    );
    const jobs = jsonJobs(byJob);
    for (const job of jobsInConfig(stack.file(BUNDLE_PATHS.prometheusConfig).content)) {
      expect(jobs[job] ?? 0, `series of job ${job}`).toBeGreaterThan(0);
    }
    expect(byHost.length, "simulated GPU hosts with series").toBeGreaterThan(0);
    mark("6. series counted");
  }, 30_000);
});

function jsonJobs(rows: readonly { labels: Readonly<Record<string, string>>; series: number }[]): Record<string, number> {
  return Object.fromEntries(rows.map((r) => [r.labels["job"] ?? "", r.series]));
}
