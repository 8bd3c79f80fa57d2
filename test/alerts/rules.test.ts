import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { caseProblems, ruleProblems } from "../../alerts/checks";
import { alertingSchema, thresholdsSchema, type Thresholds } from "../../alerts/config";
import { alert, durationMs, input, type AlertCase, type AlertingRule } from "../../alerts/model";
import { promtoolSuites } from "../../alerts/promtool";
import { RECORDING_RULE_FILE, buildRuleSets, listAlertRules, renderRuleFiles, type RenderRuleOptions } from "../../alerts/render";
import { SENTINEL_SAMPLE } from "../../alerts/rules/fixtures";
import { dcgm, recorded, stack } from "../../metrics";
import { runTool, withFiles } from "./tools";

const defaults: RenderRuleOptions = {
  thresholds: thresholdsSchema.parse(undefined),
  alerting: alertingSchema.parse(undefined),
  retentionSize: "20GB",
};

/** Every threshold moved away from its default, so a literal left in an expression or a case would show. */
const shiftedThresholds: Thresholds = thresholdsSchema.parse({
  ds01: {
    gpuWasteUtilizationPercent: 10,
    userGpuWasteUtilizationPercent: 12,
    systemGpuWastePercent: 60,
    systemGpuWasteMinAllocations: 2,
    gpuTemperatureWarningCelsius: 80,
    gpuTemperatureCriticalCelsius: 88,
    gpuMemoryPercent: 90,
    containerCpuPercent: 200,
    containerMemoryPercent: 80,
    stateDiskFreePercent: 20,
    rootDiskFreeLowPercent: 6,
    rootDiskFreeWarningPercent: 25,
    loadPerCpu: 1.5,
    memoryAvailablePercent: 20,
    gpuCapacityFreePercent: 30,
    gpuCapacityFreeEquivalents: 1.5,
  },
  dcgm: { thermalThrottlePercent: 20, powerThrottlePercent: 40, rateWindow: "10m" },
  drm: {
    cpuUtilizationPercent: 70,
    minWorkers: 5,
    pendingTasks: 4,
    allocationTimeMs: 200,
    regressionZScore: 2.5,
    regressionWindow: "15m",
    regressionBaselineWindow: "2h",
    regressionMinSamples: 12,
    capacityForecastHorizon: "2h",
    capacityForecastWindow: "1h",
    capacityPendingPerWorker: 3,
    capacityCpuPercent: 90,
  },
  stack: { tsdbSizeSharePercent: 70, notificationFailurePercent: 20, rateWindow: "10m" },
  slurm: { gpuJobPendingSeconds: 1800 },
  kubernetes: { gpuPodPendingSeconds: 2400, idleGpuUtilizationPercent: 12, idleGpuWindow: "2h", idleGpuMinDevices: 2, allocatableDropWindow: "3h" },
});
const shifted: RenderRuleOptions = { ...defaults, thresholds: shiftedThresholds, retentionSize: "512MB" };

/**
 * Runs `promtool test rules` for each alert of `rules`, against rules rendered from `rulesFrom`;
 * the alerts whose suite failed come back with promtool's output.
 */
async function promtoolTest(rulesFrom: RenderRuleOptions, rules: readonly AlertingRule[]): Promise<{ failed: string[]; output: string; passed: number }> {
  const suites = promtoolSuites(rulesFrom, rules);
  const results: { alert: string; code: number; output: string }[] = [];
  // Two at a time: promtool is CPU-bound and the machine is shared.
  for (let i = 0; i < suites.length; i += 2) {
    const batch = suites.slice(i, i + 2);
    results.push(
      ...(await Promise.all(
        batch.map(async (s) => ({
          alert: s.alert,
          ...(await withFiles(s.files.map((f) => ({ name: f.fileName, content: f.content })), (dir) => runTool("promtool", ["test", "rules", "tests.yml"], dir))),
        })),
      )),
    );
  }
  const failed = results.filter((r) => r.code !== 0 || !r.output.includes("SUCCESS"));
  return { failed: failed.map((r) => r.alert), output: failed.map((r) => r.output).join("\n"), passed: results.length - failed.length };
}

const rulesOf = (opts: RenderRuleOptions) => listAlertRules(opts).map((r) => r.rule);

describe("rule model checks", () => {
  it("every rule parses, reads only catalog metrics and labels, uses portable functions, and has firing and silent cases", () => {
    expect(ruleProblems(buildRuleSets(defaults))).toEqual([]);
    expect(ruleProblems(buildRuleSets(shifted))).toEqual([]);
  });

  it("flags an alert that lacks a firing or a silent case", () => {
    const fires: AlertCase = { name: "fires", input: [input(stack.up, { job: "x" }, "0x5")], at: "1m", expect: [{ labels: { job: "x" }, summary: "s", description: "d" }] };
    const quiet: AlertCase = { name: "quiet", input: [input(stack.up, { job: "x" }, "1x5")], at: "1m", expect: [] };
    const base = { alert: "X", expr: "up == 0", severity: "warning" as const, summary: "s", description: "d", condition: "c" };
    expect(caseProblems(alert({ ...base, cases: [fires] }))).toEqual(["X: no test case where it stays silent"]);
    expect(caseProblems(alert({ ...base, cases: [quiet] }))).toEqual(["X: no test case where it fires"]);
    expect(caseProblems(alert({ ...base, cases: [fires, quiet] }))).toEqual([]);
    expect(caseProblems(alert({ ...base, alwaysFiring: true, cases: [fires, quiet] }))).toEqual([
      "X: always fires, yet has a case where it is silent",
      "X: always fires, yet reads metrics",
    ]);
  });

  it("flags an expression with a metric or label the catalog does not declare, or a non-portable function", () => {
    const sets = buildRuleSets(defaults);
    const bad = {
      ...sets[0]!,
      recording: [],
      alerting: [
        {
          name: "bad",
          rules: [
            alert({ alert: "A", expr: "nvidia_gpu_temp > 1", severity: "info", summary: "", description: "", condition: "", cases: [] }),
            alert({ alert: "B", expr: 'DCGM_FI_DEV_GPU_TEMP{gpuu="0"} > 1', severity: "info", summary: "", description: "", condition: "", cases: [] }),
            alert({ alert: "C", expr: "mad_over_time(up[5m]) > 1", severity: "info", summary: "", description: "", condition: "", cases: [] }),
          ],
        },
      ],
    };
    const problems = ruleProblems([bad]).join("\n");
    expect(problems).toContain("A: metric nvidia_gpu_temp is not in the catalog");
    expect(problems).toContain("B: label gpuu is not a label of DCGM_FI_DEV_GPU_TEMP");
    expect(problems).toContain("C: mad_over_time() is not in both Prometheus 2.42 and 3.x");
  });

  it("records every series the catalog declares as recorded, and nothing it does not", () => {
    const produced = new Set(buildRuleSets(defaults).flatMap((s) => s.recording.flatMap((g) => g.rules.map((r) => (r.kind === "record" ? r.record : r.alert)))));
    expect([...produced].sort()).toEqual(Object.keys(recorded).sort());
  });

  it("reads thresholds from config, not literals", () => {
    const byName = (opts: RenderRuleOptions) => new Map(rulesOf(opts).map((r) => [r.alert, r.expr]));
    const a = byName(defaults);
    const b = byName(shifted);
    for (const [name, expr] of a) {
      const rule = rulesOf(defaults).find((r) => r.alert === name);
      if (rule?.thresholds && Object.keys(rule.thresholds).length > 0) expect(b.get(name), name).not.toEqual(expr);
    }
    expect(b.get("DS01GPUHighTemperature")).toMatch(/> 80$/);
    expect(b.get("HighCPUUtilization")).toMatch(/> 70$/);
  });
});

describe("rendered rule files", () => {
  it("pass promtool check rules", async () => {
    for (const opts of [defaults, shifted]) {
      const files = renderRuleFiles(opts);
      expect(files.map((f) => f.fileName)).toEqual([RECORDING_RULE_FILE, "ds01.alerts.yml", "dcgm.alerts.yml", "drm.alerts.yml", "stack.alerts.yml", "slurm.alerts.yml", "kubernetes.alerts.yml"]);
      const result = await withFiles(
        files.map((f) => ({ name: f.fileName, content: f.content })),
        (dir) => runTool("promtool", ["check", "rules", ...files.map((f) => f.fileName)], dir),
      );
      expect(result.output).not.toContain("FAILED");
      expect(result.code, result.output).toBe(0);
      expect(result.output.match(/SUCCESS/g)?.length).toBe(files.length);
    }
  });

  it("are deterministic", () => {
    expect(renderRuleFiles(defaults)).toEqual(renderRuleFiles(defaults));
  });

  it("leave out switched-off rule sets and disabled alerts, keep recording rules, and shorten hold times", async () => {
    const alerting = alertingSchema.parse({
      ruleSets: { drm: false },
      disabledAlerts: ["DS01GPUWaste", "Watchdog"],
      forOverrides: { DS01UserGPUWaste: "1m" },
      maxFor: "2m",
    });
    const files = renderRuleFiles({ ...defaults, alerting });
    expect(files.map((f) => f.fileName)).toEqual([RECORDING_RULE_FILE, "ds01.alerts.yml", "dcgm.alerts.yml", "stack.alerts.yml", "slurm.alerts.yml", "kubernetes.alerts.yml"]);
    const docs = files.map((f) => parse(f.content) as { groups: { name: string; interval?: string; rules: { alert?: string; record?: string; for?: string }[] }[] });
    const rules = docs.flatMap((d) => d.groups.flatMap((g) => g.rules));
    const alerts = rules.filter((r) => r.alert).map((r) => r.alert);
    expect(alerts).not.toContain("DS01GPUWaste");
    expect(alerts).not.toContain("Watchdog");
    expect(alerts).not.toContain("HighCPUUtilization");
    expect(rules.map((r) => r.record)).toContain("drm:task_throughput_per_second:zscore");
    expect(rules.find((r) => r.alert === "DS01UserGPUWaste")?.for).toBe("1m");
    for (const r of rules) if (r.for) expect(durationMs(r.for), r.alert).toBeLessThanOrEqual(durationMs("2m"));
    for (const g of docs.flatMap((d) => d.groups)) if (g.interval) expect(durationMs(g.interval), g.name).toBeLessThanOrEqual(durationMs("2m"));
    const check = await withFiles(
      files.map((f) => ({ name: f.fileName, content: f.content })),
      (dir) => runTool("promtool", ["check", "rules", ...files.map((f) => f.fileName)], dir),
    );
    expect(check.code, check.output).toBe(0);
  });

  it("refuse alert names in disabledAlerts or forOverrides that no rule has", () => {
    expect(() => renderRuleFiles({ ...defaults, alerting: alertingSchema.parse({ disabledAlerts: ["DS01GPUWast"] }) })).toThrow(/no alert named DS01GPUWast/);
    expect(() => renderRuleFiles({ ...defaults, alerting: alertingSchema.parse({ forOverrides: { HighCpuUtilization: "1m" } }) })).toThrow(/no alert named HighCpuUtilization/);
  });

  it("have no TSDB size alert without a retention size, and one sized to it with one", () => {
    const without = rulesOf({ ...defaults, retentionSize: undefined }).map((r) => r.alert);
    expect(without).not.toContain("PrometheusTSDBNearRetentionSize");
    const tsdb = rulesOf(shifted).find((r) => r.alert === "PrometheusTSDBNearRetentionSize");
    expect(tsdb?.expr).toContain(String(512 * 2 ** 20));
  });

  it("TargetDown leaves DS01's own jobs to DS01's alerts, and kube-state-metrics to its own, only while those rule sets are on", () => {
    const on = rulesOf(defaults).find((r) => r.alert === "TargetDown");
    const off = rulesOf({ ...defaults, alerting: alertingSchema.parse({ ruleSets: { ds01: false, kubernetes: false } }) }).find((r) => r.alert === "TargetDown");
    const kubeOnly = rulesOf({ ...defaults, alerting: alertingSchema.parse({ ruleSets: { ds01: false } }) }).find((r) => r.alert === "TargetDown");
    expect(on?.expr).toContain('job!~"ds01-exporter|node-exporter');
    expect(off?.expr).toBe("up == 0");
    expect(kubeOnly?.expr).toBe('up{job!~"kube-state-metrics"} == 0');
  });
});

describe("promtool test rules", () => {
  it("every case of every alert passes with the default thresholds", async () => {
    const rules = rulesOf(defaults);
    const result = await promtoolTest(defaults, rules);
    expect(result.failed, result.output).toEqual([]);
    expect(result.passed).toBe(rules.length);
    expect(rules.length).toBeGreaterThanOrEqual(40);
  }, 600_000);

  it("every case passes with every threshold moved, the cases following the thresholds", async () => {
    const result = await promtoolTest(shifted, rulesOf(shifted));
    expect(result.failed, result.output).toEqual([]);
  }, 600_000);

  it("cases written for other thresholds fail against the default rules", async () => {
    // Threshold-bearing alerts only; each must notice that the rule it runs against is not the one its cases expect.
    const names = ["DS01GPUHighTemperature", "DS01GPUMemoryHigh", "HighCPUUtilization", "DS01LowMemory", "DRMThroughputRegression"];
    const shiftedCases = new Map(rulesOf(shifted).map((r) => [r.alert, r.cases]));
    const moved = rulesOf(defaults)
      .filter((r) => names.includes(r.alert))
      .map((r) => ({ ...r, cases: shiftedCases.get(r.alert) ?? [] }));
    expect(moved).toHaveLength(names.length);
    const result = await promtoolTest(defaults, moved);
    expect(result.failed.sort()).toEqual(moved.map((r) => r.alert).sort());
  }, 600_000);

  it("no alert fires when its DCGM input is DCGM's blank value", async () => {
    const isDcgm = (series: string) => Object.keys(dcgm).some((name) => series.startsWith(`${name}{`));
    const blanked: AlertingRule[] = [];
    for (const rule of rulesOf(defaults)) {
      const cases = rule.cases
        .filter((c) => c.expect.length > 0 && c.input.some((s) => isDcgm(s.series)))
        .map((c): AlertCase => {
          const samples = Math.ceil(durationMs(c.at) / durationMs(c.interval ?? "1m")) + 5;
          return {
            ...c,
            name: `${c.name}, with blank DCGM samples`,
            input: c.input.map((s) => (isDcgm(s.series) ? { series: s.series, values: `${SENTINEL_SAMPLE}x${samples}` } : s)),
            expect: [],
          };
        });
      if (cases.length) blanked.push({ ...rule, cases });
    }
    // Every alert that reads DCGM directly or through a recording rule has such a case.
    expect(blanked.map((r) => r.alert).sort()).toEqual(
      [
        "DS01GPUWaste",
        "DS01GPUHighTemperature",
        "DS01GPUCriticalTemperature",
        "DS01GPUMemoryHigh",
        "DS01GPUXIDError",
        "DS01UserGPUWaste",
        "DS01SystemHighGPUWaste",
        "GPUDoubleBitECCError",
        "GPUThermalThrottling",
        "GPUPowerThrottling",
        "GPURowRemapFailure",
        "KubeNamespaceGpusIdle",
      ].sort(),
    );
    const result = await promtoolTest(defaults, blanked);
    expect(result.failed, result.output).toEqual([]);
  }, 600_000);
});
