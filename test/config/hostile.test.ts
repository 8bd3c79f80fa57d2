import { afterEach, describe, expect, it, vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { collectorsWarnings, configWarnings, exposureWarnings } from "../../components/config";
import { runStack } from "../stack/harness";
import { BASE, errorOf, validate } from "./support";

describe("publishing unauthenticated services beyond loopback needs exposeUnauthenticated", () => {
  const exposing: Array<[string, Record<string, unknown>, string]> = [
    ["bindAddress 0.0.0.0", { bindAddress: "0.0.0.0" }, "bindAddress"],
    ["bindAddress on a LAN address", { bindAddress: "192.168.1.20" }, "bindAddress"],
    ["bindAddress on a public address", { bindAddress: "203.0.113.7" }, "bindAddress"],
    ["Prometheus alone on 0.0.0.0", { bindAddresses: { prometheus: "0.0.0.0" } }, "bindAddresses.prometheus"],
    ["Alertmanager alone on a LAN address", { bindAddresses: { alertmanager: "10.1.2.3" } }, "bindAddresses.alertmanager"],
    ["the exporter on 0.0.0.0", { bindAddresses: { exporter: "0.0.0.0" } }, "bindAddresses.exporter"],
    ["exposeUnauthenticated false, spelt out", { bindAddress: "0.0.0.0", exposeUnauthenticated: false }, "bindAddress"],
  ];
  for (const [name, plain, key] of exposing) {
    it(`refuses ${name}`, () => {
      const err = errorOf({ ...BASE, ...plain });
      expect(err.problems.map((p) => p.key)).toContain(key);
      expect(err.message).toContain("exposeUnauthenticated: true");
    });
  }

  it("allows loopback addresses and Grafana (which has a login) anywhere", () => {
    expect(() => validate({ ...BASE, bindAddress: "127.0.0.2" })).not.toThrow();
    expect(exposureWarnings(validate({ ...BASE, bindAddresses: { grafana: "0.0.0.0" } }))).toEqual([]);
  });

  it("with the opt-in, the config is valid and each exposed service is named in a warning", () => {
    const cfg = validate({ ...BASE, bindAddress: "0.0.0.0", exposeUnauthenticated: true });
    const warnings = exposureWarnings(cfg);
    for (const s of ["prometheus", "alertmanager", "exporter", "nodeExporter", "cadvisor"]) expect(warnings.join("\n")).toContain(`${s} is published on 0.0.0.0`);
    expect(warnings.join("\n")).not.toContain("grafana is published");
  });

  it("the opt-in must be a boolean", () => {
    expect(errorOf({ ...BASE, exposeUnauthenticated: "yes" }).problems.map((p) => p.key)).toContain("exposeUnauthenticated");
  });
});

describe("pulumi up warns about exposure", () => {
  afterEach(() => vi.restoreAllMocks());

  it("logs one pulumi warning per exposed service", async () => {
    const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue();
    const run = await runStack("dev", { plain: { bindAddress: "0.0.0.0", exposeUnauthenticated: true } });
    expect(run.error).toBeUndefined();
    const messages = warn.mock.calls.map((c) => String(c[0]));
    expect(messages.some((m) => m.includes("prometheus is published on 0.0.0.0:9090 without authentication"))).toBe(true);
    expect(messages.some((m) => m.includes("alertmanager is published on 0.0.0.0"))).toBe(true);
  });
});

describe("messages never show secret values or credentials", () => {
  const SECRET = "s3cr3t-VALUE-never-shown";
  const k8s = (remoteWrite: unknown[]): Record<string, unknown> => ({ ...BASE, platform: "kubernetes", exporter: { simulation: true }, kubernetes: { prometheus: { remoteWrite } } });
  const receiver = (extra: Record<string, unknown>) => ({ ...BASE, alerting: { receivers: [{ name: "mail", type: "email", to: ["ops@example.org"], from: "am@example.org", smarthost: "smtp.example.org:587", ...extra }] } });
  const cases: Array<[string, Record<string, unknown>, string, RegExp?]> = [
    ["a plain-text slackWebhook (unknown key)", { ...BASE, slackWebhook: `https://hooks.slack.com/services/T0/B0/${SECRET}` }, "slackWebhook"],
    ["a plain-text apiToken (unknown key)", { ...BASE, apiToken: SECRET }, "apiToken"],
    ["a password under an unknown nested key", { ...BASE, exporter: { simulation: true, password: SECRET } }, "exporter.password"],
    ["a webhook URL under an innocent unknown key", { ...BASE, notify: `https://hooks.slack.com/services/T0/B0/${SECRET}` }, "notify"],
    ["a URL with credentials under an unknown key", { ...BASE, backend: `https://admin:${SECRET}@db.example.org/` }, "backend"],
    ["a token query under an unknown key", { ...BASE, backend: `https://db.example.org/?token=${SECRET}` }, "backend"],
    ["drmUrl with user:password@", { ...BASE, exporter: { drmUrl: `http://drm:${SECRET}@drm.example.org:8080` } }, "exporter.drmUrl", /drmApiKey/],
    ["drmUrl with a token query", { ...BASE, exporter: { drmUrl: `http://drm.example.org:8080/?token=${SECRET}` } }, "exporter.drmUrl", /drmApiKey/],
    ["drmUrl with an api_key query", { ...BASE, exporter: { drmUrl: `http://drm.example.org:8080/x?a=1&api_key=${SECRET}` } }, "exporter.drmUrl", /drmApiKey/],
    ["grafanaRootUrl with user:password@", { ...BASE, grafanaRootUrl: `https://admin:${SECRET}@grafana.example.org/` }, "grafanaRootUrl"],
    ["remoteWrite.url with user:password@", k8s([{ url: `https://tenant:${SECRET}@mimir.example.org/api/v1/push` }]), "kubernetes.prometheus.remoteWrite.0.url", /bearerTokenSecretKey/],
    ["remoteWrite.url with an access_token query", k8s([{ url: `https://mimir.example.org/api/v1/push?access_token=${SECRET}` }]), "kubernetes.prometheus.remoteWrite.0.url", /passwordSecretKey/],
    ["a password typed into passwordSecretKey", k8s([{ url: "https://mimir.example.org/push", basicAuth: { username: "u", passwordSecretKey: `${SECRET}!` } }]), "kubernetes.prometheus.remoteWrite.0.basicAuth.passwordSecretKey"],
    ["a password typed into passwordSecretKey that is a valid name", k8s([{ url: "https://mimir.example.org/push", basicAuth: { username: "u", passwordSecretKey: SECRET } }]), "kubernetes.prometheus.remoteWrite.0.basicAuth.passwordSecretKey"],
    ["a password with spaces typed into authPasswordSecret", receiver({ authUsername: "am", authPasswordSecret: `my ${SECRET}` }), "alerting.receivers.0.authPasswordSecret"],
    ["a password typed into authPasswordSecret that is a valid name", receiver({ authUsername: "am", authPasswordSecret: SECRET }), "alerting.receivers.0.authPasswordSecret"],
    ["a secret-looking key of the wrong type", { ...BASE, grafanaAdminUser: { token: SECRET } }, "grafanaAdminUser"],
  ];
  for (const [name, plain, key, pointer] of cases) {
    it(name, () => {
      const err = errorOf(plain);
      expect(err.problems.map((p) => p.key)).toContain(key);
      expect(err.message).not.toContain(SECRET);
      expect(err.message).not.toContain(SECRET.slice(0, 12));
      if (pointer) expect(err.message).toMatch(pointer);
    });
  }
});

describe("hostile paths and values are refused, naming the key", () => {
  const k8s = (kubernetes: Record<string, unknown>): Record<string, unknown> => ({ ...BASE, platform: "kubernetes", kubernetes });
  const big = "x".repeat(20 * 1024 * 1024);
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["a state file that climbs to /etc/shadow", { ...BASE, exporter: { stateFile: "/var/lib/ds01/../../../etc/shadow" } }, "exporter.stateFile"],
    ["a state file in /etc", { ...BASE, exporter: { stateFile: "/etc/shadow" } }, "exporter.stateFile"],
    ["a state file directly under / (its folder / would be mounted)", { ...BASE, exporter: { stateFile: "/gpu-state.json" } }, "exporter.stateFile"],
    ["an events log in /root", { ...BASE, exporter: { eventsFile: "/root/events.jsonl" } }, "exporter.eventsFile"],
    ["an events log with a newline in its name", { ...BASE, exporter: { eventsFile: "/var/log/ds01/events\n.jsonl" } }, "exporter.eventsFile"],
    ["an events log with a NUL", { ...BASE, exporter: { eventsFile: "/var/log/ds01/e\u0000" } }, "exporter.eventsFile"],
    ["a state dir of /", { ...BASE, exporter: { stateDir: "/" } }, "exporter.stateDir"],
    ["a state dir of /proc", { ...BASE, exporter: { stateDir: "/proc" } }, "exporter.stateDir"],
    ["a state dir under /sys", { ...BASE, exporter: { stateDir: "/sys/fs/cgroup" } }, "exporter.stateDir"],
    ["a state dir with a trailing slash", { ...BASE, exporter: { stateDir: "/var/lib/ds01/" } }, "exporter.stateDir"],
    ["a state dir with //", { ...BASE, exporter: { stateDir: "/var//lib/ds01" } }, "exporter.stateDir"],
    ["a state dir with a . segment", { ...BASE, exporter: { stateDir: "/var/lib/./ds01" } }, "exporter.stateDir"],
    ["a relative state dir", { ...BASE, exporter: { stateDir: "var/lib/ds01" } }, "exporter.stateDir"],
    ["a Docker socket in /dev", { ...BASE, exporter: { dockerSocket: "/dev/mem" } }, "exporter.dockerSocket"],
    ["a state dir 2000 characters long", { ...BASE, exporter: { stateDir: `/${"a/".repeat(1000)}b` } }, "exporter.stateDir"],
    ["a file_sd host dir of /", { ...BASE, fileSd: { hostDir: "/", jobs: [{ job: "gpus", files: ["a.json"] }] } }, "fileSd.hostDir"],
    ["a file_sd host dir in /boot", { ...BASE, fileSd: { hostDir: "/boot/sd" } }, "fileSd.hostDir"],
    ["a pod-resources path of /", k8s({ gpuNodes: { podResourcesPath: "/" } }), "kubernetes.gpuNodes.podResourcesPath"],
    ["a pod-resources path in /etc", k8s({ gpuNodes: { podResourcesPath: "/etc/kubernetes" } }), "kubernetes.gpuNodes.podResourcesPath"],
    ["renderYamlToDirectory climbing with ..", k8s({ renderYamlToDirectory: "../../etc/cron.d" }), "kubernetes.renderYamlToDirectory"],
    ["renderYamlToDirectory with .. inside", k8s({ renderYamlToDirectory: "rendered/../../../tmp" }), "kubernetes.renderYamlToDirectory"],
    ["renderYamlToDirectory in /etc", k8s({ renderYamlToDirectory: "/etc/kubernetes/manifests" }), "kubernetes.renderYamlToDirectory"],
    ["renderYamlToDirectory of /", k8s({ renderYamlToDirectory: "/" }), "kubernetes.renderYamlToDirectory"],
    ["DCGM collectors pointing at /etc/passwd", { ...BASE, components: { dcgmExporter: true }, gpu: { devices: "all", collectors: "/etc/passwd" } }, "gpu.collectors"],
    ["DCGM collectors climbing out of /etc/dcgm-exporter", { ...BASE, components: { dcgmExporter: true }, gpu: { devices: "all", collectors: "/etc/dcgm-exporter/../shadow.csv" } }, "gpu.collectors"],
    ["DCGM collectors relative", { ...BASE, components: { dcgmExporter: true }, gpu: { devices: "all", collectors: "dcp-metrics-included.csv" } }, "gpu.collectors"],
    ["GPU ids joined by a comma", { ...BASE, components: { dcgmExporter: true }, gpu: { devices: ["0,1"] } }, "gpu.devices.0"],
    ["a GPU id with a newline", { ...BASE, components: { dcgmExporter: true }, gpu: { devices: ["0\n--privileged"] } }, "gpu.devices.0"],
    ["a GPU id with a space and a flag", { ...BASE, components: { dcgmExporter: true }, gpu: { devices: ["0 --all"] } }, "gpu.devices.0"],
    ["a malformed GPU UUID", { ...BASE, components: { dcgmExporter: true }, gpu: { devices: ["GPU-xyz"] } }, "gpu.devices.0"],
    ["a 20 MB external label value", { ...BASE, externalLabels: { site: big } }, "externalLabels.site"],
    ["a __proto__ external label", { ...BASE, externalLabels: JSON.parse('{"__proto__": "x", "site": "a"}') as Record<string, unknown> }, "externalLabels.__proto__"],
    ["a __proto__ key anywhere", { ...BASE, ...(JSON.parse('{"exporter": {"__proto__": {"simulation": false}}}') as Record<string, unknown>) }, "exporter.__proto__"],
    ["a 200-character label name", { ...BASE, externalLabels: { ["a".repeat(200)]: "x" } }, `externalLabels.${"a".repeat(200)}`],
    ["a hundred external labels", { ...BASE, externalLabels: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`l${i}`, "x"])) }, "externalLabels"],
    ["a SLURM config outside /etc/slurm", { ...BASE, slurm: { slurmConf: "/etc/shadow" } }, "slurm.slurmConf"],
    ["a 20 MB string in a free-text key", { ...BASE, alerting: { runbookBaseUrl: big } }, "alerting.runbookBaseUrl"],
  ];
  for (const [name, plain, key] of cases) {
    it(name, () => {
      const started = Date.now();
      const err = errorOf(plain);
      expect(err.problems.map((p) => p.key)).toContain(key);
      // A refused value is never rendered back whole.
      expect(err.message.length).toBeLessThan(4_000);
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  }

  it("the production stack's paths and the usual GPU ids stay valid", () => {
    expect(() =>
      validate({
        ...BASE,
        components: { dcgmExporter: true },
        gpu: { devices: ["0", "7", "GPU-8f6e2a4c-1b3d-4e5f-a6b7-c8d9e0f1a2b3", "MIG-8f6e2a4c-1b3d-4e5f-a6b7-c8d9e0f1a2b3"], collectors: "/etc/dcgm-exporter/dcp-metrics-included.csv" },
        exporter: { simulation: false, stateFile: "/var/lib/ds01/gpu-state.json", eventsFile: "/var/log/ds01/events.jsonl", stateDir: "/var/lib/ds01" },
      }),
    ).not.toThrow();
    expect(() => validate({ ...BASE, exporter: { simulation: false, dockerSocket: "/var/run/docker.sock" } })).not.toThrow();
  });
});

describe("a user's own DCGM counter list", () => {
  it("is kept as given and warned about: alerts and panels need fields it may leave out", () => {
    const own = validate({ ...BASE, components: { dcgmExporter: true }, gpu: { devices: "all", collectors: "/etc/dcgm-exporter/default-counters.csv" } });
    expect(own.gpu?.collectors).toBe("/etc/dcgm-exporter/default-counters.csv");
    const warnings = configWarnings(own);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("/etc/dcgm-exporter/default-counters.csv (gpu.collectors)");
    expect(warnings[0]).toContain("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL");
  });

  it("is no warning when unset, or when the DCGM exporter is off", () => {
    expect(configWarnings(validate({ ...BASE, components: { dcgmExporter: true }, gpu: { devices: "all" } }))).toEqual([]);
    expect(collectorsWarnings(validate({ ...BASE, components: { dcgmExporter: false }, gpu: { devices: "all", collectors: "/etc/dcgm-exporter/default-counters.csv" } }))).toEqual([]);
  });
});

describe("gpu.collectors naming the stack's own list", () => {
  it("is refused: that file exists only when no user list replaces it", () => {
    const err = errorOf({ ...BASE, components: { dcgmExporter: true }, gpu: { devices: "all", collectors: "/etc/dcgm-exporter/gpu-monitoring-counters.csv" } });
    expect(err.problems.map((p) => p.key)).toEqual(["gpu.collectors"]);
  });
});
