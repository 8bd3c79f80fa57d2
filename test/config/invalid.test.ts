import { describe, expect, it } from "vitest";
import { BASE, errorOf, validate } from "./support";

interface Case {
  readonly name: string;
  readonly plain: Record<string, unknown>;
  readonly secretKeys?: string[];
  /** The key (below gpu-monitoring:) the message must name. */
  readonly key: string;
  /** More text the message must contain (the value, what is allowed). */
  readonly mentions?: readonly string[];
}

const CASES: readonly Case[] = [
  { name: "port of the wrong type", plain: { ...BASE, ports: { grafana: "3000x" } }, key: "ports.grafana", mentions: ['got "3000x"', "a number"] },
  { name: "port out of range", plain: { ...BASE, ports: { prometheus: 70000 } }, key: "ports.prometheus", mentions: ["got 70000", "<= 65535"] },
  { name: "unknown component", plain: { ...BASE, components: { grafna: true } }, key: "components.grafna", mentions: ["unknown key", "grafana"] },
  { name: "unknown top-level key", plain: { ...BASE, retension: { time: "7d" } }, key: "retension", mentions: ["unknown key", "retention"] },
  { name: "bad retention duration", plain: { ...BASE, retention: { time: "7days" } }, key: "retention.time", mentions: ['got "7days"', "7d"] },
  { name: "bad retention size", plain: { ...BASE, retention: { size: "20 GiB" } }, key: "retention.size", mentions: ['got "20 GiB"', "20GB"] },
  { name: "zero scrape interval", plain: { ...BASE, scrapeIntervals: { nodeExporter: "0s" } }, key: "scrapeIntervals.nodeExporter", mentions: ["greater than zero"] },
  { name: "bad scrape interval", plain: { ...BASE, scrapeIntervals: { dcgmExporter: "fast" } }, key: "scrapeIntervals.dcgmExporter", mentions: ['got "fast"'] },
  { name: "port clash between two services", plain: { ...BASE, ports: { alertmanager: 9090 } }, key: "ports.alertmanager", mentions: ["clashes with ports.prometheus", "got 9090"] },
  {
    name: "port clash through a 0.0.0.0 bind address",
    plain: { ...BASE, ports: { grafana: 9100 }, bindAddresses: { grafana: "0.0.0.0" } },
    key: "ports.nodeExporter",
    mentions: ["clashes with ports.grafana"],
  },
  { name: "port clash with the simulated DCGM endpoint", plain: { ...BASE, ports: { cadvisor: 9400 } }, key: "exporter.simulatedDcgmPort", mentions: ["clashes with ports.cadvisor"] },
  { name: "Grafana on without its secret", plain: BASE, secretKeys: [], key: "grafanaAdminPassword", mentions: ["pulumi config set --secret grafanaAdminPassword"] },
  { name: "Grafana password in plain text", plain: { ...BASE, grafanaAdminPassword: "hunter2-plain" }, key: "grafanaAdminPassword", mentions: ["must be a Pulumi secret", "[secret]"] },
  { name: "DCGM on with no GPU setting", plain: { ...BASE, components: { dcgmExporter: true } }, key: "gpu", mentions: ["no GPUs are configured", 'gpu.devices: "all"'] },
  { name: "empty GPU list", plain: { ...BASE, components: { dcgmExporter: true }, gpu: { devices: [] } }, key: "gpu.devices", mentions: [">= 1 items"] },
  { name: "unknown platform", plain: { ...BASE, platform: "swarm" }, key: "platform", mentions: ['got "swarm"', '"docker", "kubernetes"'] },
  { name: "unknown profile", plain: { ...BASE, profile: "staging" }, key: "profile", mentions: ['"dev", "prod"'] },
  { name: "bind address not an IP", plain: { ...BASE, bindAddress: "localhost" }, key: "bindAddress", mentions: ['got "localhost"', "127.0.0.1"] },
  { name: "bind address octet out of range", plain: { ...BASE, bindAddress: "127.0.0.256" }, key: "bindAddress" },
  { name: "image on latest", plain: { ...BASE, images: { grafana: "grafana/grafana-oss:latest" } }, key: "images.grafana", mentions: ["not pinned"] },
  { name: "image without a tag", plain: { ...BASE, images: { prometheus: "prom/prometheus" } }, key: "images.prometheus", mentions: ["not pinned", "@sha256"] },
  {
    name: "duplicate extra job names",
    plain: { ...BASE, extraScrapeTargets: [{ job: "gpu", targets: ["a:1"] }, { job: "gpu", targets: ["b:2"] }] },
    key: "extraScrapeTargets.1.job",
    mentions: ["duplicate job name"],
  },
  {
    name: "extra job reusing a stack job name",
    plain: { ...BASE, extraScrapeTargets: [{ job: "dcgm-exporter", targets: ["gpu-node-2:9400"] }] },
    key: "extraScrapeTargets.0.job",
    mentions: ["reserved"],
  },
  {
    name: "extra target without a port",
    plain: { ...BASE, extraScrapeTargets: [{ job: "gpu", targets: ["gpu-node-2"] }] },
    key: "extraScrapeTargets.0.targets.0",
    mentions: ["host:port"],
  },
  { name: "file_sd job without a host directory", plain: { ...BASE, fileSd: { jobs: [{ job: "hosts", files: ["hosts/*.json"] }] } }, key: "fileSd.hostDir" },
  { name: "file_sd glob that is absolute", plain: { ...BASE, fileSd: { hostDir: "/srv/sd", jobs: [{ job: "h", files: ["/etc/x.json"] }] } }, key: "fileSd.jobs.0.files.0" },
  { name: "reserved external label", plain: { ...BASE, externalLabels: { __replica: "a" } }, key: "externalLabels.__replica" },
  { name: "exporter with no source", plain: { ...BASE, exporter: { simulation: false } }, key: "exporter.simulation", mentions: ["nothing to export", "exporter.dockerSocket"] },
  {
    name: "exporter given the Docker engine and the state file (the exporter's own rule)",
    plain: { ...BASE, exporter: { simulation: false, dockerSocket: "/var/run/docker.sock", stateFile: "/var/lib/ds01/gpu-state.json" } },
    key: "exporter.stateFile",
    mentions: ["not both", "exporter.dockerSocket", "/var/lib/ds01/gpu-state.json"],
  },
  { name: "simulation with a Docker source", plain: { ...BASE, exporter: { simulation: true, dockerSocket: "/var/run/docker.sock" } }, key: "exporter.dockerSocket", mentions: ["never be read"] },
  { name: "DRM API key without a DRM URL", plain: { ...BASE, exporter: { simulation: true } }, secretKeys: ["grafanaAdminPassword", "drmApiKey"], key: "drmApiKey", mentions: ["exporter.drmUrl"] },
  { name: "DRM URL not http", plain: { ...BASE, exporter: { simulation: true, drmUrl: "ftp://drm:8080" } }, key: "exporter.drmUrl" },
  { name: "relative state file path", plain: { ...BASE, exporter: { simulation: false, stateFile: "state.json" } }, key: "exporter.stateFile", mentions: ["absolute path"] },
  { name: "relative utmp path", plain: { ...BASE, exporter: { simulation: false, utmpFile: "var/run/utmp" } }, key: "exporter.utmpFile", mentions: ["absolute path"] },
  { name: "relative groups dir", plain: { ...BASE, exporter: { simulation: false, groupsDir: "groups" } }, key: "exporter.groupsDir", mentions: ["absolute path"] },
  { name: "relative cgroup root", plain: { ...BASE, exporter: { simulation: false, cgroupRoot: "sys/fs/cgroup" } }, key: "exporter.cgroupRoot", mentions: ["absolute path"] },
  { name: "name prefix with capitals", plain: { ...BASE, namePrefix: "GPU_Mon" }, key: "namePrefix" },
  { name: "component switch not a boolean", plain: { ...BASE, components: { cadvisor: "yes" } }, key: "components.cadvisor", mentions: ["a boolean"] },
  { name: "a plain key set as a secret", plain: BASE, secretKeys: ["grafanaAdminPassword", "ports"], key: "ports", mentions: ["must not be a secret"] },
  {
    name: "Kubernetes remote_write naming a secret that is not set",
    plain: { ...BASE, platform: "kubernetes", kubernetes: { prometheus: { remoteWrite: [{ url: "https://mimir.example/api/v1/push", bearerTokenSecretKey: "mimirToken" }] } } },
    key: "kubernetes.prometheus.remoteWrite.0.bearerTokenSecretKey",
    mentions: ["names a secret that is not set", "pulumi config set --secret"],
  },
];

describe("invalid stack configs stop the program with the key in the message", () => {
  it("has at least 15 distinct cases", () => {
    expect(new Set(CASES.map((c) => c.key)).size).toBeGreaterThanOrEqual(15);
  });

  for (const c of CASES) {
    it(c.name, () => {
      const err = errorOf(c.plain, c.secretKeys);
      expect(err.message).toContain(`gpu-monitoring:${c.key}: `);
      expect(err.problems.map((p) => p.key)).toContain(c.key);
      const line = err.message.split("\n").find((l) => l.includes(`gpu-monitoring:${c.key}: `))!;
      expect(line).toMatch(/\(got .+; allowed: .+\)$/);
      for (const m of c.mentions ?? []) expect(line).toContain(m);
    });
  }

  it("reports every problem at once", () => {
    const err = errorOf({ ...BASE, platform: "swarm", ports: { grafana: -1 }, retention: { time: "soon" } });
    expect(err.problems.map((p) => p.key).sort()).toEqual(["platform", "ports.grafana", "retention.time"]);
  });

  it("reports cross-field problems of what did parse next to type errors, in one run", () => {
    const err = errorOf({ ...BASE, retention: { time: 7 }, ports: { alertmanager: 9090 }, thresholds: { drm: { minWorkers: "three" } } }, []);
    expect(err.problems.map((p) => p.key).sort()).toEqual(["grafanaAdminPassword", "ports.alertmanager", "retention.time", "thresholds.drm.minWorkers"]);
    // A key with a type error is not reported a second time through its default.
    const typed = errorOf({ ...BASE, ports: { alertmanager: "x", grafana: 9090 } });
    expect(typed.problems.map((p) => p.key).sort()).toEqual(["ports.alertmanager", "ports.grafana"]);
  });

  it("rejects fractions for counts", () => {
    for (const key of ["minWorkers", "pendingTasks"]) {
      const err = errorOf({ ...BASE, thresholds: { drm: { [key]: 2.5 } } });
      expect(err.message).toContain(`gpu-monitoring:thresholds.drm.${key}: wrong type, expected a whole number (got 2.5`);
    }
    expect(errorOf({ ...BASE, thresholds: { ds01: { systemGpuWasteMinAllocations: 0.5 } } }).problems[0]?.key).toBe("thresholds.ds01.systemGpuWasteMinAllocations");
    expect(validate({ ...BASE, thresholds: { drm: { minWorkers: 2 } } }).thresholds.drm.minWorkers).toBe(2);
  });

  it("points each problem at the page that documents its key", () => {
    const err = errorOf({ ...BASE, thresholds: { drm: { minWorkers: -1 }, ds01: { gpuMemoryPercent: 200 } }, ports: { grafana: 0 }, alerting: { receivers: [] } });
    const line = (key: string): string => err.message.split("\n").find((l) => l.includes(`gpu-monitoring:${key}: `)) ?? "";
    expect(line("thresholds.drm.minWorkers")).toMatch(/; see docs\/alerts\.md#drm\)$/);
    expect(line("thresholds.ds01.gpuMemoryPercent")).toMatch(/; see docs\/alerts\.md#ds01\)$/);
    expect(line("alerting.receivers")).toMatch(/; see docs\/alerts\.md#receivers\)$/);
    expect(line("ports.grafana")).toMatch(/; see docs\/stack\.md#config-reference\)$/);
  });

  it("never shows a secret's value", () => {
    const err = errorOf({ ...BASE, grafanaAdminPassword: "hunter2-plain", profile: "x" });
    expect(err.message).not.toContain("hunter2-plain");
  });
});

describe("valid configs", () => {
  it("fills in the dev profile's defaults", () => {
    const cfg = validate(BASE);
    expect(cfg.bindAddress).toBe("127.0.0.1");
    expect(Object.values(cfg.bindAddresses).every((a) => a === "127.0.0.1")).toBe(true);
    expect(cfg.retention).toEqual({ time: "7d", size: "20GB" });
    expect(cfg.scrapeIntervals.dcgmExporter).toBe("15s");
    expect(cfg.scrapeIntervals.exporter).toBe("30s");
    expect(cfg.scrapeIntervals.nodeExporter).toBe("15s");
    expect(cfg.components.dcgmExporter).toBe(false);
    expect(cfg.exporter.simulation).toBe(true);
    expect(cfg.exporter.simulatedDcgmPort).toBe(9400);
  });

  it("takes prod defaults: every component of the platform, real sources", () => {
    const cfg = validate({ profile: "prod", gpu: { devices: "all" }, exporter: { stateFile: "/var/lib/ds01/gpu-state.json" } });
    // kube-state-metrics exists on Kubernetes only.
    const { kubeStateMetrics, ...docker } = cfg.components;
    expect(Object.values(docker).every(Boolean)).toBe(true);
    expect(kubeStateMetrics).toBe(false);
    expect(cfg.exporter.simulation).toBe(false);
    expect(cfg.exporter.simulatedDcgmPort).toBeUndefined();
    // No counter list of the user's: the DCGM exporter gets the stack's own.
    expect(cfg.gpu?.collectors).toBeUndefined();
  });

  it("accepts Grafana off without a password", () => {
    expect(validate({ ...BASE, components: { grafana: false } }, []).components.grafana).toBe(false);
  });

  it("accepts a digest-pinned image and extra targets with labels", () => {
    const digest = `prom/prometheus@sha256:${"a".repeat(64)}`;
    const cfg = validate({ ...BASE, images: { prometheus: digest }, extraScrapeTargets: [{ job: "gpu-node-2", targets: ["10.0.0.2:9100"], labels: { rack: "r1" } }] });
    expect(cfg.images.prometheus).toBe(digest);
    expect(cfg.extraScrapeTargets[0]).toMatchObject({ job: "gpu-node-2", scrapeInterval: "15s", metricsPath: "/metrics" });
  });
});
