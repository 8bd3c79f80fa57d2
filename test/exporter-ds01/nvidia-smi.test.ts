import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerSource } from "../../exporter/ds01";
import { EMPTY_DEVICE_MAP } from "../../exporter/ds01/device-map";
import { NvidiaSmiDeviceMap } from "../../exporter/ds01/nvidia-smi";
import { FakeNvidiaSmi, NVIDIA_SMI_MIG, NVIDIA_SMI_RECONFIGURED } from "../support/fake-nvidia-smi";
import { FakeEngine, healthyEngine } from "./support/fake-engine";

const slots = (m: Awaited<ReturnType<NvidiaSmiDeviceMap["load"]>>) =>
  Object.fromEntries([...m.byUuid.values()].map((e) => [e.slot, `${e.profile} ${e.gpuEquivalents.toFixed(3)}`]));

describe("device map from nvidia-smi -L, run by the exporter", () => {
  let smi: FakeNvidiaSmi;
  let clock = 0;
  const now = () => clock;
  beforeAll(async () => {
    smi = await FakeNvidiaSmi.create();
  });
  afterAll(async () => {
    await smi.remove();
  });

  it("maps full GPUs to their index and MIG devices to <gpu>.<device>, with profiles and GPU-equivalents", async () => {
    await smi.set(NVIDIA_SMI_MIG);
    const map = await new NvidiaSmiDeviceMap({ command: smi.command, now }).load();
    expect(slots(map)).toEqual({ "0": "full 1.000", "1": "full 1.000", "1.0": "3g.20gb 0.429", "1.1": "2g.10gb 0.286", "1.2": "1g.5gb 0.143" });
    expect(map.gpus.map((g) => [g.index, g.model, g.migEnabled])).toEqual([
      ["0", "NVIDIA A100-SXM4-40GB", false],
      ["1", "NVIDIA A100-SXM4-40GB", true],
    ]);
    expect(map.byIndex.get("1:2")?.uuid).toBe("MIG-1f0e9a7b-3c5d-5e2f-8a4b-6d7c9e0f1a2b");
  });

  it("runs once per refresh interval, and again when it is over", async () => {
    await smi.set(NVIDIA_SMI_MIG);
    clock = 0;
    const devices = new NvidiaSmiDeviceMap({ command: smi.command, now, refreshMs: 60_000 });
    const [a, b] = await Promise.all([devices.load(), devices.load()]);
    clock = 59_000;
    const c = await devices.load();
    expect(devices.runs).toBe(1);
    expect(b).toBe(a);
    expect(c).toBe(a);
    await smi.set(NVIDIA_SMI_RECONFIGURED);
    clock = 60_000;
    const d = await devices.load();
    expect(devices.runs).toBe(2);
    expect(slots(d)).toEqual({ "0": "full 1.000", "1": "full 1.000", "1.0": "7g.40gb 1.000" });
  });

  it("an unknown device re-reads the map, at most once per retry interval", async () => {
    await smi.set(NVIDIA_SMI_MIG);
    clock = 0;
    const devices = new NvidiaSmiDeviceMap({ command: smi.command, now, refreshMs: 600_000, unknownRetryMs: 10_000 });
    const first = await devices.load();
    await smi.set(NVIDIA_SMI_RECONFIGURED);
    clock = 5_000;
    expect(await devices.unknownDevice()).toBe(first);
    expect(devices.runs).toBe(1);
    clock = 10_000;
    const fresh = await devices.unknownDevice();
    expect(devices.runs).toBe(2);
    expect(fresh.byUuid.has("MIG-7e2d0c4b-9a1f-5b3e-8c6d-2f4a6b8c0d1e")).toBe(true);
    expect(fresh.byUuid.has("MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f")).toBe(false);
  });

  it.each([
    ["garbage output", "Segmentation fault\n\u0000\u0001 not a GPU list\n", "list", /listed no GPU \(first line "Segmentation fault"\)/],
    ["empty output", "", "list", /listed no GPU \(empty output\)/],
    ["a driver failure", "", "fail", /exited with 9: NVIDIA-SMI has failed/],
  ] as const)("keeps the last good map on %s and says why", async (_name, output, mode, why) => {
    await smi.set(NVIDIA_SMI_MIG);
    clock = 0;
    const devices = new NvidiaSmiDeviceMap({ command: smi.command, now, refreshMs: 1_000 });
    const good = await devices.load();
    await smi.set(output, mode);
    clock = 2_000;
    expect(await devices.load()).toBe(good);
    expect(devices.lastError?.message).toMatch(why);
    await smi.set(NVIDIA_SMI_MIG);
    clock = 4_000;
    expect(await devices.load()).toBe(good);
    expect(devices.lastError).toBeUndefined();
  });

  it("reports its health as the nvidia_smi source: failing while runs fail, the last good map still in use", async () => {
    await smi.set(NVIDIA_SMI_MIG);
    clock = 0;
    const devices = new NvidiaSmiDeviceMap({ command: smi.command, now, refreshMs: 1_000 });
    const health = devices.healthSource();
    expect(health.name).toBe("nvidia_smi");
    const good = await health.read();
    await smi.set("", "fail");
    clock = 2_000;
    await expect(health.read()).rejects.toThrow(/exited with 9/);
    expect(await devices.load()).toBe(good);
    await smi.set(NVIDIA_SMI_MIG);
    clock = 4_000;
    expect(await health.read()).toBe(good);
  });

  it("gives up on a hanging nvidia-smi after its timeout, its children killed with it", async () => {
    await smi.set(NVIDIA_SMI_MIG, "hang");
    const devices = new NvidiaSmiDeviceMap({ command: smi.command, timeoutMs: 300 });
    const started = Date.now();
    expect(await devices.load()).toBe(EMPTY_DEVICE_MAP);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(devices.lastError?.message).toMatch(/timed out after 300 ms/);
  });

  it("a missing program leaves the map empty and never throws", async () => {
    const devices = new NvidiaSmiDeviceMap({ command: `${smi.dir}/no-such-nvidia-smi` });
    expect(await devices.load()).toBe(EMPTY_DEVICE_MAP);
    expect(devices.lastError?.message).toMatch(/ENOENT/);
  });

  it("the Docker source resolves a MIG UUID that appeared after a reconfiguration within the same read", async () => {
    const engine = await FakeEngine.start();
    try {
      await smi.set(NVIDIA_SMI_MIG);
      const devices = new NvidiaSmiDeviceMap({ command: smi.command, refreshMs: 600_000, unknownRetryMs: 0 });
      const inspect = (uuid: string) => ({
        c1: {
          Id: "c1",
          Name: "/thesis._.1001",
          Config: { Labels: { "ds01.user": "alice" } },
          State: { Status: "running" },
          HostConfig: { DeviceRequests: [{ Driver: "nvidia", Count: 0, DeviceIDs: [uuid], Capabilities: [["gpu"]] }] },
        },
      });
      engine.handler = healthyEngine(inspect("MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f"));
      const source = createDockerSource({ socketPath: engine.socketPath, deviceMap: devices, requestTimeoutMs: 2_000 });
      try {
        const before = await source.read();
        expect(before.allocations.map((a) => [a.slot, a.profile])).toEqual([["1.0", "3g.20gb"]]);
        expect(before.migMapping.unmapped).toBe(0);
        await source.close();
        await smi.set(NVIDIA_SMI_RECONFIGURED);
        engine.handler = healthyEngine(inspect("MIG-7e2d0c4b-9a1f-5b3e-8c6d-2f4a6b8c0d1e"));
        const again = createDockerSource({ socketPath: engine.socketPath, deviceMap: devices, requestTimeoutMs: 2_000 });
        try {
          const after = await again.read();
          expect(after.allocations.map((a) => [a.slot, a.profile, a.gpuEquivalents])).toEqual([["1.0", "7g.40gb", 1]]);
          expect(after.migMapping.unmapped).toBe(0);
          expect(devices.runs).toBe(2);
        } finally {
          await again.close();
        }
      } finally {
        await source.close();
      }
    } finally {
      await engine.stop();
    }
  });
});
