import { describe, expect, it } from "vitest";
import { CONTAINER, NETWORK, REMOTE_IMAGE, VOLUME, runStack } from "../stack/harness";
import { UnsupportedInput, containerCreate, durationNs, networkCreate, remoteImage, volumeCreate } from "./translate";

describe("Pulumi Docker provider inputs → Engine API", () => {
  it.each(["dev", "prod"])("translates every resource the %s stack declares", async (stack) => {
    const run = await runStack(stack);
    expect(run.error).toBeUndefined();
    const types = new Set(run.resources.filter((r) => r.custom).map((r) => r.type));
    // Anything else the program might declare would need a translation first.
    expect([...types].sort()).toEqual([CONTAINER, NETWORK, REMOTE_IMAGE, VOLUME].sort());
    for (const r of run.resources) {
      if (r.type === CONTAINER) expect(() => containerCreate(r.inputs), r.name).not.toThrow();
      if (r.type === NETWORK) expect(() => networkCreate(r.inputs)).not.toThrow();
      if (r.type === VOLUME) expect(() => volumeCreate(r.inputs)).not.toThrow();
      if (r.type === REMOTE_IMAGE) expect(() => remoteImage(r.inputs)).not.toThrow();
    }
  });

  it("maps ports, volumes, health check, limits, GPUs and labels the way the provider sends them", () => {
    const c = containerCreate({
      name: "x",
      image: "sha256:x",
      command: ["--a"],
      envs: ["A=1"],
      user: "65534:65534",
      groupAdds: ["999"],
      readOnly: true,
      capabilities: { adds: [], drops: ["ALL"] },
      deviceRequests: [{ driver: "nvidia", count: -1, capabilities: ["utility"] }],
      networksAdvanced: [{ name: "net", aliases: ["x"] }],
      ports: [{ internal: 9090, external: 19090, ip: "127.0.0.1", protocol: "tcp" }],
      volumes: [
        { volumeName: "data", containerPath: "/data" },
        { hostPath: "/var/run/docker.sock", containerPath: "/host/var/run/docker.sock", readOnly: true },
      ],
      uploads: [{ file: "/etc/x.yml", content: "a: 1", permissions: "0400", owner: "65534" }],
      healthcheck: { tests: ["CMD", "true"], interval: "30s", timeout: "10s", retries: 3, startPeriod: "1m30s" },
      restart: "unless-stopped",
      memory: 256,
      cpus: "0.5",
      labels: [{ label: "k", value: "v" }],
      logDriver: "json-file",
      logOpts: { "max-size": "10m" },
    });
    expect(c.body).toMatchObject({
      Cmd: ["--a"],
      User: "65534:65534",
      ExposedPorts: { "9090/tcp": {} },
      Labels: { k: "v" },
      Healthcheck: { Test: ["CMD", "true"], Interval: 30e9, Timeout: 10e9, Retries: 3, StartPeriod: 90e9 },
      NetworkingConfig: { EndpointsConfig: { net: { Aliases: ["x"] } } },
      HostConfig: {
        GroupAdd: ["999"],
        ReadonlyRootfs: true,
        CapDrop: ["ALL"],
        DeviceRequests: [{ Driver: "nvidia", Count: -1, DeviceIDs: [], Capabilities: [["utility"]], Options: {} }],
        NetworkMode: "net",
        PortBindings: { "9090/tcp": [{ HostIp: "127.0.0.1", HostPort: "19090" }] },
        Binds: ["data:/data", "/var/run/docker.sock:/host/var/run/docker.sock:ro"],
        RestartPolicy: { Name: "unless-stopped" },
        Memory: 256 * 1024 * 1024,
        NanoCpus: 5e8,
        LogConfig: { Type: "json-file", Config: { "max-size": "10m" } },
      },
    });
    expect(c.uploads).toEqual([{ file: "/etc/x.yml", content: "a: 1", mode: 0o400, uid: 65534, gid: 0 }]);
  });

  it.each([
    [{ name: "x", image: "i", privileged: true }, /privileged/],
    [{ name: "x", image: "i", ports: [{ internal: 1, external: 2, ip: "127.0.0.1", protocol: "tcp", hostname: "h" }] }, /ports\[0\].*hostname/],
    [{ name: "x", image: "i", volumes: [{ containerPath: "/a", fromContainer: "y" }] }, /volumes\[0\].*fromContainer/],
    [{ name: "x", image: "i", healthcheck: { tests: ["CMD", "true"], startInterval: "1s" } }, /healthcheck.*startInterval/],
    [{ name: "x", image: "i", uploads: [{ file: "/a", source: "/etc/passwd" }] }, /uploads\[0\].*content is required|source/],
  ])("refuses an input it does not implement: %j", (inputs, message) => {
    expect(() => containerCreate(inputs)).toThrow(UnsupportedInput);
    expect(() => containerCreate(inputs)).toThrow(message);
  });

  it("refuses unknown network, volume and image inputs too", () => {
    expect(() => networkCreate({ name: "n", ipamConfigs: [] })).toThrow(/ipamConfigs/);
    expect(() => volumeCreate({ name: "v", driverOpts: {} })).toThrow(/driverOpts/);
    expect(() => remoteImage({ name: "i", pullTriggers: [] })).toThrow(/pullTriggers/);
    expect(() => remoteImage({ name: "i", build: { context: ".", target: "x" } })).toThrow(/target/);
  });

  it("reads Go durations", () => {
    expect(durationNs("1h2m3s")).toBe(3723e9);
    expect(durationNs("500ms")).toBe(5e8);
    expect(() => durationNs("30 seconds")).toThrow(/not a duration/);
  });
});
