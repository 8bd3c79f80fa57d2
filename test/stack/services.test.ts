import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError, validateStackConfig, type StackConfig } from "../../components/config";
import { cpus, dockerReadOnlyRoot, healthcheck, memoryMb } from "../../components/platforms/docker";
import { BUNDLE_PATHS, renderBundle, type ScrapeConfig } from "../../components/render";
import { alertmanagerService, exporterService, grafanaService, prometheusService, retentionVolumeSize, serviceSpecs } from "../../components/services";
import { containers, runStack } from "./harness";

function cfgOf(plain: Record<string, unknown>, secretKeys: string[] = ["grafanaAdminPassword"]): StackConfig {
  return validateStackConfig({ plain: { profile: "dev", exporter: { simulation: true }, ...plain }, secretKeys });
}

function jobs(cfg: StackConfig): ScrapeConfig[] {
  const text = renderBundle(cfg).find((f) => f.path === BUNDLE_PATHS.prometheusConfig)!.content;
  return (parseYaml(text) as { scrape_configs: ScrapeConfig[] }).scrape_configs;
}

describe("service specs", () => {
  it("every spec drops all capabilities; only DCGM adds SYS_ADMIN; only DCGM gets GPUs", () => {
    const specs = serviceSpecs(cfgOf({ components: { dcgmExporter: true }, gpu: { devices: "all" } }));
    expect(specs).toHaveLength(7);
    for (const s of specs) {
      expect(s.capabilities.drop).toEqual(["ALL"]);
      expect(s.capabilities.add.includes("SYS_ADMIN")).toBe(s.name === "dcgmExporter");
      expect(s.gpus !== undefined).toBe(s.name === "dcgmExporter");
      expect(s.hostPid || s.hostNetwork).toBe(false);
      expect(s.healthCheck ?? s.healthCommand).toBeDefined();
    }
  });

  it("Prometheus takes retention from the config and sizes its volume above it", () => {
    const spec = prometheusService(cfgOf({ retention: { time: "30d", size: "100GB" } }));
    expect(spec.args).toEqual(expect.arrayContaining(["--storage.tsdb.retention.time=30d", "--storage.tsdb.retention.size=100GB"]));
    expect(spec.dataVolumes[0]).toMatchObject({ mountPath: "/prometheus", size: "125Gi" });
    expect(retentionVolumeSize("512MB")).toBe("1Gi");
  });

  it("a host-run exporter gets no container; Prometheus reaches it through the host gateway", () => {
    const cfg = cfgOf({ exporter: { run: "host", simulation: false, hostTarget: "172.17.0.1:9101" } });
    expect(serviceSpecs(cfg).map((s) => s.name)).not.toContain("exporter");
    expect(prometheusService(cfg).extraHosts).toEqual(["host.docker.internal:host-gateway"]);
    expect(jobs(cfg).find((j) => j.job_name === "ds01-exporter")!.static_configs![0]!.targets).toEqual(["172.17.0.1:9101"]);
  });

  it("the exporter mounts the folders of DS01's files, not the files, read-only", () => {
    const spec = exporterService(cfgOf({ exporter: { simulation: false, stateFile: "/var/lib/ds01/gpu-state.json", stateDir: "/var/lib/ds01", eventsFile: "/var/log/ds01/events.jsonl" } }));
    expect(spec.hostMounts).toEqual([
      { hostPath: "/var/lib/ds01", mountPath: "/host/var/lib/ds01", readOnly: true },
      { hostPath: "/var/log/ds01", mountPath: "/host/var/log/ds01", readOnly: true },
    ]);
    expect(spec.supplementalGroups).toBeUndefined();
  });

  it("login records, group files and the cgroup mount are mounted themselves, read-only, at the paths the flags name", () => {
    const spec = exporterService(
      cfgOf({ exporter: { simulation: false, utmpFile: "/var/run/utmp", groupsDir: "/opt/ds01-infra/config/runtime/groups", cgroupRoot: "/sys/fs/cgroup" } }),
    );
    expect(spec.hostMounts).toEqual([
      { hostPath: "/opt/ds01-infra/config/runtime/groups", mountPath: "/host/opt/ds01-infra/config/runtime/groups", readOnly: true },
      { hostPath: "/sys/fs/cgroup", mountPath: "/host/sys/fs/cgroup", readOnly: true },
      { hostPath: "/var/run/utmp", mountPath: "/host/var/run/utmp", readOnly: true },
    ]);
    expect(spec.args).toEqual(
      expect.arrayContaining(["--utmp-file=/host/var/run/utmp", "--groups-dir=/host/opt/ds01-infra/config/runtime/groups", "--cgroup-root=/host/sys/fs/cgroup"]),
    );
    expect(spec.placement).toBe("gpuNodes");
  });

  it("the DRM API key reaches the exporter as a secret file, never as an argument", () => {
    const spec = exporterService(cfgOf({ exporter: { simulation: false, drmUrl: "http://drm:8080" } }, ["grafanaAdminPassword", "drmApiKey"]));
    expect(spec.secretFiles).toEqual([{ path: "/run/gpu-monitoring/secrets/drm_api_key", secretKey: "drmApiKey" }]);
    expect(spec.args).toEqual(expect.arrayContaining(["--drm-url=http://drm:8080", "--api-key-file=/run/gpu-monitoring/secrets/drm_api_key"]));
    expect(dockerReadOnlyRoot(spec)).toBe(false);
  });

  it("Grafana's password is a secret file; its environment holds no password", () => {
    const spec = grafanaService(cfgOf({}));
    expect(spec.secretFiles).toEqual([{ path: "/etc/grafana/provisioning/secrets/admin_password", secretKey: "grafanaAdminPassword" }]);
    expect(Object.keys(spec.env).filter((k) => k.includes("PASSWORD"))).toEqual(["GF_SECURITY_ADMIN_PASSWORD__FILE"]);
    expect(spec.env["GF_USERS_ALLOW_SIGN_UP"]).toBe("false");
  });

  it("Alertmanager gets one secret file per receiver credential the alerting config names", () => {
    const alerting = { receivers: [{ name: "ops", type: "slack", webhookUrlSecret: "slackWebhook" }] };
    expect(() => cfgOf({ alerting })).toThrow(ConfigError);
    expect(() => cfgOf({ alerting })).toThrow(/gpu-monitoring:alerting\.receivers\.0\.webhookUrlSecret: names a secret that is not set in this stack/);
    const spec = alertmanagerService(cfgOf({ alerting }, ["grafanaAdminPassword", "slackWebhook"]));
    expect(spec.secretFiles).toHaveLength(1);
    expect(spec.secretFiles[0]!.secretKey).toBe("slackWebhook");
    expect(spec.secretFiles[0]!.path).toMatch(/^\/etc\/alertmanager\/secrets\//);
    const yml = spec.configFiles.find((f) => f.path === "/etc/alertmanager/alertmanager.yml")!.content;
    expect(yml).toContain(spec.secretFiles[0]!.path);
  });

  it("switching the real DCGM exporter on moves the dcgm-exporter job off the simulated endpoint", () => {
    expect(jobs(cfgOf({})).find((j) => j.job_name === "dcgm-exporter")!.static_configs![0]!.targets).toEqual(["gpu-monitoring-exporter:9400"]);
    const real = cfgOf({ components: { dcgmExporter: true }, gpu: { devices: "all" } });
    expect(real.exporter.simulatedDcgmPort).toBeUndefined();
    expect(jobs(real).find((j) => j.job_name === "dcgm-exporter")!.static_configs![0]!.targets).toEqual(["gpu-monitoring-dcgm-exporter:9400"]);
  });

  it("namePrefix renames every container, so two stacks can share a host", () => {
    const specs = serviceSpecs(cfgOf({ namePrefix: "gm-staging", ports: { prometheus: 19090, alertmanager: 19093, grafana: 13000, nodeExporter: 19100, cadvisor: 18080, exporter: 19101 }, exporter: { simulation: true, simulatedDcgmPort: 19400 } }));
    expect(specs.every((s) => s.resourceName.startsWith("gm-staging-"))).toBe(true);
  });
});

describe("Docker conversions", () => {
  it("converts resource quantities", () => {
    expect(memoryMb("512Mi")).toBe(512);
    expect(memoryMb("4Gi")).toBe(4096);
    expect(cpus("500m")).toBe("0.5");
    expect(cpus("1")).toBe("1");
    expect(() => memoryMb("lots")).toThrow(/not a memory quantity/);
  });

  it("uses the spec's command health check, else wget on the HTTP one", () => {
    expect(healthcheck({ name: "dcgmExporter", healthCommand: ["pgrep", "-f", "dcgm-exporter"] })).toMatchObject({ tests: ["CMD", "pgrep", "-f", "dcgm-exporter"], startPeriod: "60s" });
    expect(healthcheck({ name: "prometheus", healthCheck: { kind: "http", path: "/-/healthy", port: 9090 } })!.tests).toEqual(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:9090/-/healthy"]);
    expect(healthcheck({ name: "prometheus" })).toBeUndefined();
  });
});

describe("alerting secrets on the Docker platform (mocks)", () => {
  it("are uploaded into Alertmanager from the Pulumi secret, 0400, owned by its user", async () => {
    const run = await runStack("dev", {
      plain: { alerting: { receivers: [{ name: "ops", type: "slack", webhookUrlSecret: "slackWebhook" }] } },
      secrets: { slackWebhook: "https://hooks.example/very-secret" },
    });
    expect(run.error).toBeUndefined();
    const am = containers(run).get("gpu-monitoring-alertmanager")!;
    const file = am.uploads.find((u) => u.file.startsWith("/etc/alertmanager/secrets/"))!;
    expect(file).toMatchObject({ content: "https://hooks.example/very-secret", permissions: "0400", owner: "65534" });
    const yml = am.uploads.find((u) => u.file === "/etc/alertmanager/alertmanager.yml")!.content;
    expect(yml).not.toContain("very-secret");
    expect(JSON.stringify(run.outputs)).not.toContain("very-secret");
  });
});
