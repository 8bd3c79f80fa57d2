import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { durationMs } from "../../alerts/model";
import { ConfigError, loadStackConfig, loadStackConfigFile, readStackFile, stackFilePath } from "../../components/config";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "gm-config-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeStack(name: string, body: string): string {
  const file = path.join(dir, `Pulumi.${name}.yaml`);
  fs.writeFileSync(file, body);
  return file;
}

describe("stack files", () => {
  it("dev: Docker, simulation, everything on 127.0.0.1, no GPU", () => {
    const cfg = loadStackConfigFile(stackFilePath("dev"));
    expect(cfg.platform).toBe("docker");
    expect(cfg.exporter.simulation).toBe(true);
    expect(cfg.components.dcgmExporter).toBe(false);
    expect(cfg.gpu).toBeUndefined();
    expect(new Set(Object.values(cfg.bindAddresses))).toEqual(new Set(["127.0.0.1"]));
    expect(cfg.secretKeys).toContain("grafanaAdminPassword");
    // A newcomer opens a week on every dashboard; the stack must still hold it.
    expect(durationMs(cfg.retention.time)).toBeGreaterThanOrEqual(durationMs("7d"));
  });

  it("prod: Docker on a GPU host, DCGM and DS01 sources on", () => {
    const cfg = loadStackConfigFile(stackFilePath("prod"));
    expect(cfg.components.dcgmExporter).toBe(true);
    expect(cfg.gpu?.devices).toBe("all");
    expect(cfg.exporter.simulation).toBe(false);
    // The Docker engine is DS01's source of truth; the state file is only for hosts without it.
    expect(cfg.exporter.sources).toEqual({
      dockerSocket: "/var/run/docker.sock",
      eventsFile: "/var/log/ds01/events.jsonl",
      stateDir: "/var/lib/ds01",
      utmpFile: "/var/run/utmp",
      groupsDir: "/opt/ds01-infra/config/runtime/groups",
      cgroupRoot: "/sys/fs/cgroup",
    });
    expect(cfg.retention).toEqual({ time: "7d", size: "20GB" });
  });

  it("stack files hold no plaintext secret: every secret is a secure: value", () => {
    for (const stack of ["dev", "prod"]) {
      const raw = readStackFile(stackFilePath(stack));
      expect(raw.plain).not.toHaveProperty("grafanaAdminPassword");
      expect(raw.secretKeys).toEqual(["grafanaAdminPassword"]);
    }
  });

  it("reads keys with and without the namespace and ignores other namespaces", () => {
    const file = writeStack(
      "ns",
      ["config:", "  gpu-monitoring:profile: dev", "  bindAddress: 127.0.0.2", "  docker:host: unix:///var/run/docker.sock", "  gpu-monitoring:grafanaAdminPassword:", "    secure: v1:abc"].join("\n"),
    );
    const cfg = loadStackConfigFile(file);
    expect(cfg.bindAddress).toBe("127.0.0.2");
    expect(cfg.secretKeys).toEqual(["grafanaAdminPassword"]);
  });

  it("rejects a secure value nested in a structured key, without showing it", () => {
    const file = writeStack("nested", ["config:", "  gpu-monitoring:exporter:", "    drmUrl:", "      secure: v1:zzz-nested"].join("\n"));
    expect(() => loadStackConfigFile(file)).toThrow(ConfigError);
    expect(() => loadStackConfigFile(file)).toThrow(/gpu-monitoring:exporter: holds a secure value/);
    try {
      loadStackConfigFile(file);
    } catch (err) {
      expect(String(err)).not.toContain("zzz-nested");
    }
  });

  it("names the file when it cannot be parsed", () => {
    const file = writeStack("broken", "config: [unclosed");
    expect(() => loadStackConfigFile(file)).toThrow(/gpu-monitoring:\(file\): cannot read stack file/);
  });
});

describe("Pulumi runtime config", () => {
  it("parses JSON values, keeps secrets out of the plain config, and returns them as secret Outputs", async () => {
    await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs }, "gpu-monitoring", "rt", false);
    pulumi.runtime.setAllConfig(
      {
        "gpu-monitoring:profile": "dev",
        "gpu-monitoring:ports": JSON.stringify({ grafana: 3300 }),
        "gpu-monitoring:exporter": JSON.stringify({ simulation: true, updateIntervalSeconds: 5 }),
        "gpu-monitoring:grafanaAdminPassword": "s3cret-runtime-value",
        "docker:host": "unix:///var/run/docker.sock",
      },
      ["gpu-monitoring:grafanaAdminPassword"],
    );
    const { config, secrets } = loadStackConfig();
    expect(config.ports.grafana).toBe(3300);
    expect(config.exporter.updateIntervalSeconds).toBe(5);
    expect(JSON.stringify(config)).not.toContain("s3cret-runtime-value");
    const secret = secrets["grafanaAdminPassword"]!;
    expect(await pulumi.isSecret(secret)).toBe(true);
    expect(await new Promise((r) => secret.apply(r))).toBe("s3cret-runtime-value");
  });

  it("gives the same StackConfig as the file loader for the dev and prod stack files", async () => {
    for (const stack of ["dev", "prod"]) {
      const file = stackFilePath(stack);
      const raw = readStackFile(file);
      await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs }, "gpu-monitoring", stack, false);
      const config: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw.plain)) config[`gpu-monitoring:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
      for (const k of raw.secretKeys) config[`gpu-monitoring:${k}`] = "value";
      pulumi.runtime.setAllConfig(config, raw.secretKeys.map((k) => `gpu-monitoring:${k}`));
      expect(loadStackConfig().config).toEqual(loadStackConfigFile(file));
    }
  });

  it("throws a ConfigError naming the key for a bad runtime value", async () => {
    await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs }, "gpu-monitoring", "rt2", false);
    pulumi.runtime.setAllConfig({ "gpu-monitoring:ports": JSON.stringify({ grafana: 0 }) }, []);
    expect(() => loadStackConfig()).toThrow(/gpu-monitoring:ports\.grafana: too small \(got 0; allowed: a number >= 1; see docs\/stack\.md#config-reference\)/);
  });
});
