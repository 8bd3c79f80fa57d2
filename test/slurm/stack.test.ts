import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ConfigError, loadStackConfigFile, validateStackConfig } from "../../components/config";
import { BUNDLE_PATHS, renderBundle } from "../../components/render";
import { parseMonitoringTarget } from "../../exporter/slurm/discovery";
import { runTool } from "../alerts/tools";
import { containers, runStack, stackFile } from "../stack/harness";

const BASE = {
  platform: "docker",
  profile: "prod",
  components: { dcgmExporter: false, cadvisor: false },
  exporter: { run: "host", simulation: false },
};

function problems(plain: Record<string, unknown>): { key: string; message: string }[] {
  try {
    validateStackConfig({ plain, secretKeys: ["grafanaAdminPassword"] });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => ({ key: p.key, message: p.message }));
    throw err;
  }
  throw new Error("config was accepted");
}

describe("the hpc stack", () => {
  const cfg = loadStackConfigFile(stackFile("hpc"));
  const bundle = renderBundle(cfg);
  const file = (p: string): string => bundle.find((f) => f.path === p)?.content ?? "";

  it("renders the exporter's own job and one http_sd job per monitoring target group; promtool accepts the config and its rules", async () => {
    const prom = parse(file(BUNDLE_PATHS.prometheusConfig)) as { scrape_configs: { job_name: string; http_sd_configs?: { url: string; refresh_interval: string }[]; static_configs?: { targets: string[] }[] }[]; rule_files: string[] };
    const jobs = new Map(prom.scrape_configs.map((j) => [j.job_name, j]));
    expect(jobs.get("ds01-exporter")?.static_configs?.[0]?.targets).toEqual(["host.docker.internal:9101"]);
    // Two targets share the ollama job: one scrape job, one discovery URL.
    expect(prom.scrape_configs.filter((j) => j.http_sd_configs).map((j) => [j.job_name, j.http_sd_configs?.[0]?.url, j.http_sd_configs?.[0]?.refresh_interval])).toEqual([
      ["ollama", "http://host.docker.internal:9101/slurm/targets?job=ollama", "30s"],
      ["trainer", "http://host.docker.internal:9101/slurm/targets?job=trainer", "30s"],
      ["specific-node", "http://host.docker.internal:9101/slurm/targets?job=specific-node", "30s"],
    ]);
    expect(prom.rule_files).toContain("rules/slurm.alerts.yml");
    const dir = await mkdtemp(path.join(tmpdir(), "gm-hpc-bundle-"));
    try {
      for (const f of bundle) {
        await mkdir(path.dirname(path.join(dir, f.path)), { recursive: true });
        await writeFile(path.join(dir, f.path), f.content);
      }
      // promtool also checks every rule file the config names.
      const result = await runTool("promtool", ["check", "config", path.join(dir, BUNDLE_PATHS.prometheusConfig)]);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain("rules/slurm.alerts.yml");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("writes the host-run exporter's flags, which the exporter itself accepts", () => {
    const args = file(BUNDLE_PATHS.hostExporterArgs).trim().split("\n");
    expect(args).toEqual([
      "--metrics-port=9101",
      "--slurm",
      "--slurm-interval=15",
      "--slurm-command-timeout=10",
      "--slurm-conf=/etc/slurm/slurm.conf",
      "--slurm-target=ollama:11434:job-name=ollama_abc123",
      "--slurm-target=ollama:11434:job-name=ollama_xyz789",
      "--slurm-target=trainer:8000:job-id=3653331",
      "--slurm-target=specific-node:9100:host=mel2073",
    ]);
    for (const a of args.filter((x) => x.startsWith("--slurm-target="))) expect(() => parseMonitoringTarget(a.slice("--slurm-target=".length))).not.toThrow();
  });

  it("deploys with Pulumi mocks: Prometheus, Alertmanager, Grafana and node-exporter in containers, the exporter on the host", { timeout: 120_000 }, async () => {
    const run = await runStack("hpc");
    expect(run.error).toBeUndefined();
    expect([...containers(run).keys()].sort()).toEqual(["gpu-monitoring-alertmanager", "gpu-monitoring-grafana", "gpu-monitoring-node-exporter", "gpu-monitoring-prometheus"]);
    const uploaded = containers(run).get("gpu-monitoring-prometheus")?.uploads.find((u) => u.file.endsWith("/prometheus.yml"));
    expect(uploaded?.content).toContain("/slurm/targets?job=ollama");
  });

  it("leaves the SLURM rules and jobs out of stacks without the source", () => {
    const dev = renderBundle(loadStackConfigFile(stackFile("dev")));
    expect(dev.map((f) => f.path)).not.toContain("prometheus/rules/slurm.alerts.yml");
    expect(dev.find((f) => f.path === BUNDLE_PATHS.prometheusConfig)?.content).not.toContain("http_sd_configs");
  });
});

describe("slurm config validation names the key", () => {
  const slurm = (s: Record<string, unknown>) => ({ ...BASE, slurm: { enabled: true, ...s } });
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ["two places at once", slurm({ monitoringTargets: [{ job: "svc", port: 80, jobName: "a", host: "b" }] }), "slurm.monitoringTargets.0", /gives jobName and host at once/],
    ["no place at all", slurm({ monitoringTargets: [{ job: "svc", port: 80 }] }), "slurm.monitoringTargets.0", /says nowhere where the service runs/],
    ["a bad port", slurm({ monitoringTargets: [{ job: "svc", port: 0, host: "b" }] }), "slurm.monitoringTargets.0.port", /./],
    ["a job name with a space", slurm({ monitoringTargets: [{ job: "svc", port: 80, jobName: "a b" }] }), "slurm.monitoringTargets.0.jobName", /not a SLURM job name/],
    ["a job ID that is not a number", slurm({ monitoringTargets: [{ job: "svc", port: 80, jobId: "x1" }] }), "slurm.monitoringTargets.0.jobId", /./],
    ["a poll interval beyond an hour", slurm({ pollInterval: "2h" }), "slurm.pollInterval", /out of range/],
    ["an unknown key", slurm({ pollIntervall: "15s" }), "slurm.pollIntervall", /unknown key/],
    ["a reserved scrape job", slurm({ monitoringTargets: [{ job: "prometheus", port: 80, host: "b" }] }), "slurm.monitoringTargets.0.job", /reserved/],
    ["targets that disagree on their job's path", slurm({ monitoringTargets: [{ job: "svc", port: 80, host: "a" }, { job: "svc", port: 80, host: "b", metricsPath: "/m" }] }), "slurm.monitoringTargets.1", /must share scrapeInterval and metricsPath/],
    ["targets while the source is off", { ...BASE, slurm: { monitoringTargets: [{ job: "svc", port: 80, host: "b" }] } }, "slurm.enabled", /source is off/],
    ["on Kubernetes", { ...BASE, platform: "kubernetes", exporter: { simulation: false }, slurm: { enabled: true } }, "slurm.enabled", /head or login node/],
    ["with a simulated exporter", { ...BASE, exporter: { simulation: true }, slurm: { enabled: true } }, "exporter.simulation", /reads no SLURM cluster/],
  ];
  for (const [name, plain, key, message] of cases) {
    it(name, () => {
      const found = problems(plain).find((p) => p.key === key);
      expect(found, JSON.stringify(problems(plain))).toBeDefined();
      expect(found?.message).toMatch(message);
    });
  }
});
