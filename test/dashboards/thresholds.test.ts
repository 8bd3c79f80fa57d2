import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { describe, expect, it } from "vitest";
import { dashboardsFor, ruleFilesFor } from "../../components/render/sources";
import { UID } from "../../dashboards";
import {
  FULL_GPU,
  MIG_INSTANCE,
  DCGM_SENTINEL_THRESHOLD,
  dcgm,
  framebufferPercent,
  measured,
  measuredOverWindow,
  perPhysicalGpu,
  sel,
  withHostLabel,
  withMigSlot,
} from "../../metrics";
import { checkAgainstCatalog } from "../../metrics/analyze";
import { BASE, validate } from "../config/support";
import { dataPanels, targetsOf } from "./walk";

/**
 * One vocabulary for alerts and dashboards: the thresholds of the stack config colour the panels
 * that show what an alert watches, and the DCGM fragments (metrics/dcgm-queries.ts) read the same
 * in rules and panels. Both sides are taken the way a stack deploys them (components/render).
 */

const moved = {
  ds01: { gpuTemperatureWarningCelsius: 78, gpuTemperatureCriticalCelsius: 83, gpuMemoryPercent: 88, gpuWasteUtilizationPercent: 9 },
  drm: { cpuUtilizationPercent: 72, allocationTimeMs: 300 },
  stack: { tsdbSizeSharePercent: 70 },
  slurm: { gpuJobPendingSeconds: 1200 },
};

interface Bundle {
  rules: { alert?: string; record?: string; expr: string }[];
  /** Every panel query of every dashboard. */
  queries: string[];
  panel: (uid: string, title: string) => dashboard.Panel;
}

function bundle(thresholds?: object): Bundle {
  const cfg = validate({ ...BASE, ...(thresholds ? { thresholds } : {}) });
  const rules = ruleFilesFor(cfg).flatMap((f) => (parse(f.content) as { groups: { rules: Bundle["rules"] }[] }).groups.flatMap((g) => g.rules));
  const models = dashboardsFor(cfg).map((f) => JSON.parse(f.json) as dashboard.Dashboard);
  return {
    rules,
    queries: models.flatMap((m) => dataPanels(m).flatMap((p) => targetsOf(p).map((t) => t.expr ?? ""))),
    panel: (uid, title) => {
      const d = models.find((m) => m.uid === uid);
      const p = d ? dataPanels(d).find((x) => x.title === title) : undefined;
      if (!p) throw new Error(`no panel ${title} on ${uid}`);
      return p;
    },
  };
}

const steps = (p: dashboard.Panel) => p.fieldConfig?.defaults?.thresholds?.steps.map((s) => s.value);
const alertExpr = (b: Bundle, name: string) => b.rules.find((r) => r.alert === name)?.expr ?? "";

describe("thresholds shared by alerts and dashboards", () => {
  const before = bundle();
  const after = bundle(moved);

  it("a threshold moved in the stack config moves the alert and the panel's colours together", () => {
    // GPU temperature: the warning and critical alerts, and every panel that shows the hottest GPU.
    expect(alertExpr(before, "DS01GPUHighTemperature")).toMatch(/> 85$/);
    expect(alertExpr(after, "DS01GPUHighTemperature")).toMatch(/> 78$/);
    expect(alertExpr(after, "DS01GPUCriticalTemperature")).toMatch(/> 83$/);
    for (const [uid, title] of [
      [UID.ds01Overview, "Hottest GPU"],
      [UID.ds01Overview, "GPU temperature"],
      [UID.nvidiaDcgm, "Hottest GPU"],
      [UID.nvidiaDcgm, "GPU temperature"],
    ] as const) {
      expect(steps(before.panel(uid, title)), title).toEqual([null, 85, 90]);
      expect(steps(after.panel(uid, title)), title).toEqual([null, 78, 83]);
    }
    // Framebuffer: red where DS01GPUMemoryHigh fires.
    expect(alertExpr(after, "DS01GPUMemoryHigh")).toMatch(/> 0\.88$/);
    expect(steps(before.panel(UID.nvidiaDcgm, "Framebuffer used"))).toEqual([null, 90, 95]);
    expect(steps(after.panel(UID.nvidiaDcgm, "Framebuffer used"))).toEqual([null, 83, 88]);
    expect(steps(after.panel(UID.ds01User, "My GPU memory used"))).toEqual([null, 83, 88]);
    // Waste: red below the line the waste alert and recording use.
    expect(before.rules.find((r) => r.record === "ds01:gpu_waste_count")?.expr).toContain("< 5)");
    expect(after.rules.find((r) => r.record === "ds01:gpu_waste_count")?.expr).toContain("< 9)");
    expect(steps(after.panel(UID.ds01Overview, "Average GPU utilisation"))).toEqual([null, 9, 20]);
    expect(steps(after.panel(UID.nvidiaDcgm, "Utilisation now"))).toEqual([null, 9, 20]);
    // DRM, the TSDB and SLURM.
    expect(alertExpr(after, "HighCPUUtilization")).toMatch(/> 72$/);
    expect(steps(after.panel(UID.drm, "CPU"))).toEqual([null, 57, 72]);
    expect(steps(after.panel(UID.drm, "Allocation time"))).toEqual([null, 240, 300]);
    expect(steps(before.panel(UID.stackHealth, "TSDB use of limit"))).toEqual([null, 80, 85]);
    expect(steps(after.panel(UID.stackHealth, "TSDB use of limit"))).toEqual([null, 65, 70]);
    expect(steps(after.panel(UID.hpcSlurm, "Longest GPU job wait"))).toEqual([null, 1200, 2400]);
  });

  it("only the panels that show an alert's quantity change; the queries stay the same", () => {
    const queries = (b: Bundle) => (uid: string, title: string) => targetsOf(b.panel(uid, title)).map((t) => t.expr);
    expect(queries(after)(UID.nvidiaDcgm, "Hottest GPU")).toEqual(queries(before)(UID.nvidiaDcgm, "Hottest GPU"));
    expect(steps(after.panel(UID.host, "CPU busy"))).toEqual(steps(before.panel(UID.host, "CPU busy")));
  });
});

describe("colour levels in one place", () => {
  it("no dashboard writes a level as a number: each comes from metrics/thresholds.ts", () => {
    const dir = join(__dirname, "../../dashboards");
    const literal = /\b(rising|falling)\(\s*-?[0-9.]+\s*,\s*-?[0-9.]+\s*\)/;
    const found = readdirSync(dir)
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").map((line, i) => [`${f}:${i + 1}`, line] as const))
      .filter(([, line]) => literal.test(line))
      .map(([where, line]) => `${where}: ${line.trim()}`);
    expect(found).toEqual([]);
  });
});

describe("DCGM fragments shared by alerts and dashboards", () => {
  const b = bundle();
  const fragments = {
    measured: measured(sel(dcgm.DCGM_FI_DEV_GPU_TEMP)),
    measuredOverWindow: measuredOverWindow(dcgm.DCGM_FI_DEV_ECC_DBE_VOL_TOTAL, "5m"),
    perPhysicalGpu: perPhysicalGpu(measured(sel(dcgm.DCGM_FI_DEV_GPU_TEMP))),
    fullFramebuffer: framebufferPercent(FULL_GPU),
    migFramebuffer: framebufferPercent(MIG_INSTANCE),
    migSlot: withMigSlot(`${measured(sel(dcgm.DCGM_FI_PROF_GR_ENGINE_ACTIVE, MIG_INSTANCE))} * 100`, "gpu_slot"),
    host: withHostLabel(measured(sel(dcgm.DCGM_FI_DEV_GPU_TEMP))),
  };

  it("each parses and reads only catalog metrics and their labels", () => {
    for (const [name, expr] of Object.entries(fragments)) expect(checkAgainstCatalog(expr), name).toEqual([]);
  });

  it("appear verbatim in the rules that mean them", () => {
    const rule = (r: string) => b.rules.find((x) => x.record === r || x.alert === r)?.expr ?? "";
    expect(rule("DS01GPUHighTemperature")).toContain(fragments.perPhysicalGpu);
    expect(rule("GPUDoubleBitECCError")).toContain(fragments.measuredOverWindow);
    expect(rule("ds01:gpu_memory_percent_by_slot")).toContain(fragments.fullFramebuffer);
    expect(rule("ds01:gpu_memory_percent_by_slot")).toContain(fragments.migFramebuffer);
    expect(rule("ds01:gpu_utilization_by_slot")).toContain(fragments.migSlot);
    expect(rule("gpu_entity:dcgm_framebuffer_used:percent")).toContain(withHostLabel(framebufferPercent()));
    expect(rule("gpu:DCGM_FI_DEV_GPU_TEMP:measured")).toContain(fragments.host);
  });

  it("write DCGM's blank filter one way everywhere, in rules and in panels", () => {
    const exprs = [...b.rules.map((r) => r.expr), ...b.queries];
    const mentions = exprs.flatMap((e) => [...e.matchAll(new RegExp(`(.{2})${DCGM_SENTINEL_THRESHOLD}`, "g"))].map((m) => m[1]));
    expect(mentions.length).toBeGreaterThan(20);
    expect(new Set(mentions)).toEqual(new Set(["< "]));
    expect(b.queries.some((q) => q.includes(`< ${DCGM_SENTINEL_THRESHOLD}`))).toBe(true);
  });
});
