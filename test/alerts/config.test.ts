import { describe, expect, it } from "vitest";
import { alertingSchema, thresholdsSchema } from "../../alerts/config";

describe("alert config schemas", () => {
  it("default to DS01's and the DRM guide's thresholds when the key is absent", () => {
    const t = thresholdsSchema.parse(undefined);
    expect(t.ds01).toMatchObject({
      gpuWasteUtilizationPercent: 5,
      gpuTemperatureWarningCelsius: 85,
      gpuTemperatureCriticalCelsius: 90,
      gpuMemoryPercent: 95,
      containerCpuPercent: 400,
      containerMemoryPercent: 90,
      stateDiskFreePercent: 10,
      rootDiskFreeLowPercent: 10,
      rootDiskFreeWarningPercent: 15,
      loadPerCpu: 0.8,
      memoryAvailablePercent: 10,
      gpuCapacityFreePercent: 20,
      gpuCapacityFreeEquivalents: 1,
      systemGpuWastePercent: 50,
      systemGpuWasteMinAllocations: 3,
    });
    expect(t.drm).toMatchObject({ cpuUtilizationPercent: 85, minWorkers: 3, pendingTasks: 10, allocationTimeMs: 500 });
    expect(thresholdsSchema.parse({ ds01: { gpuMemoryPercent: 80 } }).ds01.gpuTemperatureWarningCelsius).toBe(85);
  });

  it("defaults routing to critical 1h, warning 4h, info 24h with one 'none' receiver", () => {
    const a = alertingSchema.parse(undefined);
    expect([a.routing.critical.repeatInterval, a.routing.warning.repeatInterval, a.routing.info.repeatInterval]).toEqual(["1h", "4h", "24h"]);
    expect(a.receivers).toEqual([{ name: "none", type: "none" }]);
    expect(a.ruleSets).toEqual({ ds01: true, dcgm: true, drm: true, stack: true, slurm: true, kubernetes: true });
  });

  it("rejects bad values, naming the key", () => {
    const issue = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) => r.error?.issues.map((i) => i.path.join("."));
    expect(issue(thresholdsSchema.safeParse({ ds01: { gpuMemoryPercent: 120 } }))).toEqual(["ds01.gpuMemoryPercent"]);
    expect(issue(thresholdsSchema.safeParse({ ds01: { gpuTemperatureWarningCelsius: 95 } }))).toEqual(["ds01.gpuTemperatureWarningCelsius"]);
    expect(issue(thresholdsSchema.safeParse({ drm: { regressionWindow: "ten minutes" } }))).toEqual(["drm.regressionWindow"]);
    expect(issue(thresholdsSchema.safeParse({ drn: {} }))).toEqual([""]);
    expect(issue(alertingSchema.safeParse({ forOverrides: { DS01GPUWaste: "0s" } }))).toEqual(["forOverrides.DS01GPUWaste"]);
    expect(issue(alertingSchema.safeParse({ receivers: [{ name: "a", type: "none" }, { name: "a", type: "none" }] }))).toEqual(["receivers"]);
    expect(issue(alertingSchema.safeParse({ receivers: [{ name: "s", type: "slack", webhookUrl: "https://hooks.slack.com/x" }] }))?.length).toBeGreaterThan(0);
  });
});
