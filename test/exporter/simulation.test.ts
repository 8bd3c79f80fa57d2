import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setLogSink } from "../../exporter/core/log";
import { runExporter, type StartedExporter } from "../../exporter/run";
import { Simulation, type SimulationOverrides } from "../../exporter/simulation";
import { dcgm, dcgmCounters, drm, ds01, exporterSelf } from "../../metrics";
import { eventually, httpGet, parseExposition, promtoolFindings, samples, value, type Sample } from "./helpers";

let restoreLog: () => void = () => {};
beforeAll(() => {
  restoreLog = setLogSink(() => {});
});
afterAll(() => restoreLog());

/** A simulation on a clock the test moves. */
function manual(seed: number, overrides?: string | { current(): SimulationOverrides }) {
  let t = 0;
  const sim = new Simulation({ seed, now: () => t, ...(overrides ? { overrides } : {}) });
  return { sim, at: (seconds: number) => (t = seconds * 1000) };
}

function dcgmSamples(sim: Simulation): Sample[] {
  const page = sim.dcgmPage();
  if (page === undefined) throw new Error("DCGM is down");
  return parseExposition(page);
}

/** DCGM's own lint findings (camelCase labels, counters without _total) are what the real exporter has too. */
const DCGM_LINT = [/label names should be written in 'snake_case'/, /counter metrics should have "_total" suffix/, /metric name should not include type 'counter'/];

describe("simulation", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = manual(7);
    const b = manual(7);
    const c = manual(8);
    for (const s of [0, 1, 90, 1_800]) {
      a.at(s);
      b.at(s);
      expect(a.sim.ds01Snapshot()).toEqual(b.sim.ds01Snapshot());
      expect(a.sim.drmSnapshot()).toEqual(b.sim.drmSnapshot());
      expect(a.sim.dcgmPage()).toBe(b.sim.dcgmPage());
    }
    expect(c.sim.ds01Snapshot().gpus[0]!.uuid).not.toBe(a.sim.ds01Snapshot().gpus[0]!.uuid);
  });

  it("models 8 GPUs, two in MIG mode with 1g/2g/3g instances, and evolves plausibly over two hours", () => {
    const { sim, at } = manual(3);
    const first = sim.ds01Snapshot();
    expect(first.gpus).toHaveLength(8);
    expect(first.gpus.filter((g) => g.migEnabled).map((g) => g.index)).toEqual(["2", "3"]);
    expect(new Set(first.migDevices.map((m) => m.profile))).toEqual(new Set(["1g.10gb", "2g.20gb", "3g.40gb"]));
    const names = new Set<string>();
    const statuses = new Set<string>();
    let lastCompleted = -1;
    const directions = new Set<string>();
    for (let s = 0; s <= 7_200; s += 60) {
      at(s);
      const snap = sim.ds01Snapshot();
      const slots = snap.allocations.map((a) => a.slot);
      expect(new Set(slots).size, "a slot is never held twice").toBe(slots.length);
      for (const a of snap.allocations) {
        names.add(a.container);
        expect(a.gpuEquivalents).toBeCloseTo(a.profile === "full" ? 1 : Number(a.profile[0]) / 7, 10);
        expect(snap.containers.some((c) => c.name === a.container && c.user === a.user)).toBe(true);
      }
      snap.containers.forEach((c) => statuses.add(c.status));
      for (const sample of dcgmSamples(sim).filter((x) => x.name === "DCGM_FI_DEV_GPU_TEMP")) {
        expect(sample.value).toBeGreaterThan(25);
        expect(sample.value).toBeLessThan(90);
      }
      const d = sim.drmSnapshot();
      expect(d.completed_tasks_total).toBeGreaterThanOrEqual(lastCompleted);
      lastCompleted = d.completed_tasks_total;
      d.scaling_operations_total.forEach((op) => directions.add(op.direction));
      expect(d.workers.length).toBeGreaterThanOrEqual(1);
    }
    expect(names.size, "containers come and go").toBeGreaterThan(12);
    expect(statuses.has("running")).toBe(true);
    expect(statuses.has("exited")).toBe(true);
    expect(directions).toEqual(new Set(["up", "down"]));
    expect(lastCompleted).toBeGreaterThan(1_000);
    expect(sim.drmSnapshot().alerts_total.length).toBeGreaterThan(0);
  });

  it("serves DCGM series consistent with the DS01 allocations", () => {
    const { sim, at } = manual(11);
    let busySeen = 0;
    for (const s of [5, 600, 1_500, 3_000]) {
      at(s);
      const snap = sim.ds01Snapshot();
      const series = dcgmSamples(sim);
      const held = new Set(snap.allocations.map((a) => a.slot));
      for (const g of snap.gpus) {
        const util = series.filter((x) => x.name === "DCGM_FI_DEV_GPU_UTIL" && x.labels.gpu === g.index);
        const temp = series.filter((x) => x.name === "DCGM_FI_DEV_GPU_TEMP" && x.labels.gpu === g.index);
        // dcgm-exporter's flex mode: a MIG GPU reports every field once per GPU instance, never bare.
        const instances = snap.migDevices.filter((m) => m.gpu === g.index);
        expect(temp).toHaveLength(g.migEnabled ? instances.length : 1);
        expect(temp.map((t) => t.labels.GPU_I_ID ?? "").sort()).toEqual(g.migEnabled ? instances.map((m) => m.gpuInstanceId).sort() : [""]);
        expect(new Set(temp.map((t) => t.value)).size, "instances repeat the parent's temperature").toBe(1);
        expect(temp[0]!.labels.UUID).toBe(g.uuid);
        expect(temp[0]!.labels.modelName).toBe(g.model);
        expect(temp[0]!.labels.device).toBe(`nvidia${g.index}`);
        expect(temp[0]!.labels.Hostname).toBe(sim.hostname);
        expect(temp[0]!.labels.DCGM_FI_DRIVER_VERSION).toMatch(/^\d+\.\d+/);
        if (g.migEnabled) {
          expect(util, "no GPU_UTIL in MIG mode").toHaveLength(0);
          continue;
        }
        expect(util).toHaveLength(1);
        if (!held.has(g.index)) expect(util[0]!.value, `free GPU ${g.index} is idle`).toBeLessThanOrEqual(1);
        if (util[0]!.value > 30) busySeen++;
        const fb = series.find((x) => x.name === "DCGM_FI_DEV_FB_USED" && x.labels.gpu === g.index)!;
        if (!held.has(g.index)) expect(fb.value).toBe(0);
      }
      for (const m of snap.migDevices) {
        const gr = series.filter(
          (x) => x.name === "DCGM_FI_PROF_GR_ENGINE_ACTIVE" && x.labels.gpu === m.gpu && x.labels.GPU_I_ID === m.gpuInstanceId,
        );
        expect(gr, `slot ${m.slot}`).toHaveLength(1);
        expect(gr[0]!.labels.GPU_I_PROFILE).toBe(m.profile);
        if (!held.has(m.slot)) expect(gr[0]!.value).toBeLessThanOrEqual(0.01);
        if (gr[0]!.value > 0.3) busySeen++;
      }
      const xid = series.filter((x) => x.name === "DCGM_FI_DEV_XID_ERRORS");
      expect(xid).toHaveLength(snap.gpus.filter((g) => !g.migEnabled).length + snap.migDevices.length);
      for (const x of xid) expect(x.labels.err_code).toBe(String(x.value));
    }
    expect(busySeen, "allocated slots do work").toBeGreaterThan(4);
  });

  it("DCGM lines have dcgm-exporter 4.2's shape: its label order, Go's %f for doubles, %d for integers", () => {
    const { sim, at } = manual(5);
    at(60);
    const lines = sim.dcgmPage()!.split("\n");
    const identity = (gpu: string, mig: string) =>
      `gpu="${gpu}",UUID="GPU-[0-9a-f-]+",pci_bus_id="00000000:[0-9A-F]{2}:00\\.0",device="nvidia${gpu}",modelName="NVIDIA A100-SXM4-80GB"${mig},Hostname="gpu-sim-01",DCGM_FI_DRIVER_VERSION="550\\.127\\.08"`;
    const full = new RegExp(`^DCGM_FI_DEV_POWER_USAGE\\{${identity("0", "")}\\} \\d+\\.\\d{6}$`);
    const mig = new RegExp(`^DCGM_FI_DEV_POWER_USAGE\\{${identity("2", ',GPU_I_PROFILE="3g\\.40gb",GPU_I_ID="2"')}\\} \\d+\\.\\d{6}$`);
    const xid = new RegExp(`^DCGM_FI_DEV_XID_ERRORS\\{${identity("0", "")},err_code="0",err_msg="No Error"\\} 0$`);
    const temp = new RegExp(`^DCGM_FI_DEV_GPU_TEMP\\{${identity("1", "")}\\} \\d+$`);
    for (const re of [full, mig, xid, temp]) expect(lines.filter((l) => re.test(l)), String(re)).toHaveLength(1);
  });

  it("DCGM page serves exactly the fields of the counter list the stack deploys, with its HELP and TYPE, and its label fields as labels", () => {
    const { sim, at } = manual(5);
    at(60);
    const page = sim.dcgmPage()!;
    const counters = dcgmCounters();
    const series = counters.filter((c) => c.type !== "label");
    const families = [...page.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ field: m[1]!, type: m[2]! }));
    expect(families.map((f) => f.field).sort()).toEqual(series.map((c) => c.field).sort());
    for (const c of series) {
      expect(page, c.field).toContain(`# HELP ${c.field} ${c.help}\n# TYPE ${c.field} ${c.type}\n`);
    }
    // A full GPU carries every field of the list.
    const fieldsOf = (gpu: string) => new Set(parseExposition(page).filter((x) => x.labels.gpu === gpu).map((x) => x.name));
    expect([...fieldsOf("0")].sort()).toEqual(series.map((c) => c.field).sort());
    for (const label of counters.filter((c) => c.type === "label")) {
      for (const x of parseExposition(page)) expect(x.labels[label.field], `${x.name} carries ${label.field}`).toBeTruthy();
    }
  });

  it("DCGM page uses catalog names and labels, and parses with promtool", async () => {
    const { sim, at } = manual(5);
    at(120);
    const page = sim.dcgmPage()!;
    for (const s of parseExposition(page)) {
      const def = dcgm[s.name as keyof typeof dcgm];
      expect(def, s.name).toBeDefined();
      for (const label of Object.keys(s.labels)) expect(def.labels as readonly string[]).toContain(label);
    }
    const findings = await promtoolFindings(page, () => false);
    expect(findings.filter((f) => !DCGM_LINT.some((re) => re.test(f)))).toEqual([]);
  });
});

describe("simulation overrides (in memory)", () => {
  it("freeze holds the state; DRM and unmanaged overrides show in the snapshots", () => {
    let current: SimulationOverrides = {};
    const { sim, at } = manual(6, { current: () => current });
    at(100);
    current = { freeze: true };
    const ds01 = sim.ds01Snapshot();
    const drmBefore = sim.drmSnapshot();
    at(1_000);
    expect(sim.ds01Snapshot()).toEqual(ds01);
    expect(sim.drmSnapshot().completed_tasks_total).toBe(drmBefore.completed_tasks_total);

    current = {
      unmanaged: { total: 2, running: 1, allAccess: 1 },
      drm: { cpuUtilization: 97, pendingTasks: 80, workers: 3, allocationTimeMs: 900 },
    };
    at(1_060);
    const d = sim.drmSnapshot();
    expect(d.cpu_utilization_percent).toBe(97);
    expect(d.pending_tasks).toBe(80);
    expect(d.workers).toHaveLength(3);
    expect(d.allocation_time_milliseconds).toBe(900);
    // The forced conditions raise the coordinator's own alerts.
    const warnings = (x: typeof d) => x.alerts_total.find((a) => a.level === "warning" && a.source === "resource_monitor")?.count ?? 0;
    expect(warnings(d)).toBeGreaterThan(warnings(drmBefore));
    const unmanaged = sim.ds01Snapshot().unmanaged;
    expect(unmanaged).toHaveLength(2);
    expect(unmanaged.filter((c) => c.running)).toHaveLength(1);
    expect(unmanaged.filter((c) => c.accessType === "all").map((c) => c.gpuCount)).toEqual(["ALL"]);

    current = {};
    at(1_200);
    expect(sim.drmSnapshot().cpu_utilization_percent).toBeLessThan(97);
    // Back to the simulation's own state: one running compose project holding a GPU.
    expect(sim.ds01Snapshot().unmanaged).toEqual([{ name: "compose-gpu-job-1", user: "grace", gpuCount: "1", accessType: "count", running: true }]);
  });
});

describe("simulation overrides file", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sim-overrides-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes atomically, as the docs advise, so a reader never sees half a file. */
  async function put(file: string, content: unknown): Promise<void> {
    const tmp = `${file}.tmp`;
    await writeFile(tmp, typeof content === "string" ? content : JSON.stringify(content));
    await rename(tmp, file);
  }

  it("forces a temperature and an idle allocated slot, then reverts when removed", async () => {
    const file = path.join(dir, "a.json");
    const { sim, at } = manual(9, file);
    at(30);
    const natural = value(sim.dcgmPage()!, "DCGM_FI_DEV_GPU_TEMP", { gpu: "4" })!;
    const before = sim.ds01Snapshot();
    const freeFull = before.gpus.find((g) => !g.migEnabled && !before.allocations.some((a) => a.slot === g.index));
    expect(freeFull, "seed 9 has a free full GPU at 30 s").toBeDefined();

    await put(file, { gpus: { "4": { temperature: 95, xid: 79 } }, slots: { [freeFull!.index]: { utilization: 0, user: "alice" }, "2.2": { utilization: 0, user: "bob" } } });
    let page = sim.dcgmPage()!;
    expect(value(page, "DCGM_FI_DEV_GPU_TEMP", { gpu: "4" })).toBe(95);
    expect(value(page, "DCGM_FI_DEV_XID_ERRORS", { gpu: "4" })).toBe(79);
    expect(samples(page, "DCGM_FI_DEV_XID_ERRORS", { gpu: "4" })[0]!.labels.err_msg).toBe("GPU has fallen off the bus");
    let snap = sim.ds01Snapshot();
    expect(snap.allocations.find((a) => a.slot === freeFull!.index)?.user).toBe("alice");
    expect(value(page, "DCGM_FI_DEV_GPU_UTIL", { gpu: freeFull!.index })).toBe(0);

    // Pinned for as long as the override stays: an idle allocated GPU for the idle-GPU alert.
    for (const s of [60, 600, 1_800]) {
      at(s);
      page = sim.dcgmPage()!;
      snap = sim.ds01Snapshot();
      expect(snap.allocations.filter((a) => a.slot === freeFull!.index).map((a) => a.user)).toEqual(["alice"]);
      expect(snap.allocations.some((a) => a.slot === "2.2")).toBe(true);
      expect(value(page, "DCGM_FI_DEV_GPU_UTIL", { gpu: freeFull!.index })).toBe(0);
      expect(value(page, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", { gpu: "2", GPU_I_ID: "9" })).toBe(0);
      expect(value(page, "DCGM_FI_DEV_GPU_TEMP", { gpu: "4" })).toBe(95);
    }

    await rm(file);
    page = sim.dcgmPage()!;
    const temp = value(page, "DCGM_FI_DEV_GPU_TEMP", { gpu: "4" })!;
    expect(temp).toBeLessThan(90);
    expect(Math.abs(temp - natural)).toBeLessThan(45);
    expect(value(page, "DCGM_FI_DEV_XID_ERRORS", { gpu: "4" })).not.toBe(79);
  });

  it("keeps the previous overrides when the file turns invalid", async () => {
    const file = path.join(dir, "b.json");
    const { sim, at } = manual(9, file);
    await put(file, { gpus: { "1": { temperature: 91 } } });
    at(5);
    expect(value(sim.dcgmPage()!, "DCGM_FI_DEV_GPU_TEMP", { gpu: "1" })).toBe(91);
    for (const bad of ["{not json", JSON.stringify({ gpus: { "1": { temperature: "hot" } } }), JSON.stringify({ unknownKey: 1 })]) {
      await put(file, bad);
      at(6);
      expect(value(sim.dcgmPage()!, "DCGM_FI_DEV_GPU_TEMP", { gpu: "1" })).toBe(91);
    }
  });

  it("takes sources down and back up", async () => {
    const file = path.join(dir, "c.json");
    const { sim } = manual(2, file);
    await put(file, { sources: { ds01: "down", drm: "down", dcgm: "down" } });
    expect(() => sim.ds01Snapshot()).toThrow(/down/);
    expect(() => sim.drmSnapshot()).toThrow(/down/);
    expect(sim.dcgmPage()).toBeUndefined();
    await put(file, {});
    expect(sim.ds01Snapshot().gpus).toHaveLength(8);
    expect(sim.dcgmPage()).toContain("DCGM_FI_DEV_GPU_TEMP");
  });
});

describe("exporter in simulation mode", () => {
  let dir: string;
  let exporter: StartedExporter | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sim-exporter-"));
  });
  afterEach(async () => {
    await exporter?.close();
    exporter = undefined;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("serves DS01, DRM and DCGM metrics that agree, and follows the overrides file", async () => {
    const overrides = path.join(dir, "overrides.json");
    exporter = await runExporter({
      simulation: true,
      simulationSeed: 4,
      simulationOverrides: overrides,
      simulateDcgmPort: 0,
      metricsPort: 0,
      updateIntervalSeconds: 0.1,
    });
    await exporter.ready;
    const page = (await httpGet(`${exporter.url}/metrics`)).body;
    expect(value(page, "ds01_exporter_source_up", { source: "simulation" })).toBe(1);
    expect(value(page, "ds01_exporter_source_up", { source: "drm" })).toBe(1);
    expect(value(page, "drm_worker_count")).toBeGreaterThan(0);
    expect(await promtoolFindings(page)).toEqual([]);
    const dcgmPage = (await httpGet(exporter.dcgmUrl!)).body;
    const allocated = samples(page, "ds01_gpu_allocated");
    expect(allocated.length).toBeGreaterThan(0);
    for (const a of allocated) {
      const uuid = a.labels.gpu_uuid!;
      if (uuid.startsWith("GPU-")) expect(dcgmPage).toContain(`UUID="${uuid}"`);
    }
    for (const m of samples(page, "ds01_mig_slot_info")) {
      expect(samples(dcgmPage, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", { gpu: m.labels.gpu!, GPU_I_ID: m.labels.gpu_i_id!, GPU_I_PROFILE: m.labels.profile! })).toHaveLength(1);
    }

    await writeFile(overrides, JSON.stringify({ sources: { ds01: "down", drm: "down" }, gpus: { "0": { temperature: 93 } } }));
    await eventually(async () => {
      const p = (await httpGet(`${exporter!.url}/metrics`)).body;
      return value(p, "ds01_exporter_source_up", { source: "simulation" }) === 0 && value(p, "ds01_exporter_source_up", { source: "drm" }) === 0;
    });
    const down = (await httpGet(`${exporter.url}/metrics`)).body;
    expect(samples(down, "ds01_gpu_allocated").length, "last good DS01 values kept").toBe(allocated.length);
    expect(value(down, "drm_worker_count")).toBeGreaterThan(0);
    expect(value((await httpGet(exporter.dcgmUrl!)).body, "DCGM_FI_DEV_GPU_TEMP", { gpu: "0" })).toBe(93);

    await rm(overrides);
    await eventually(async () => {
      const p = (await httpGet(`${exporter!.url}/metrics`)).body;
      return value(p, "ds01_exporter_source_up", { source: "simulation" }) === 1 && value(p, "ds01_exporter_source_up", { source: "drm" }) === 1;
    });
    expect(value((await httpGet(exporter.dcgmUrl!)).body, "DCGM_FI_DEV_GPU_TEMP", { gpu: "0" })).toBeLessThan(90);
  });
});

describe("catalog coverage", () => {
  it("every ds01_*, drm_* and self-reporting metric of the catalog is exported (simulation + events log + state dir)", { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sim-catalog-"));
    const events = path.join(dir, "events.jsonl");
    const now = Date.now();
    await writeFile(
      events,
      ["gpu.allocate", "container.start", "gpu.release"].map((t, i) => JSON.stringify({ timestamp: new Date(now - (i + 1) * 60_000).toISOString(), event_type: t })).join("\n") + "\n",
    );
    const exporter = await runExporter({ simulation: true, metricsPort: 0, eventsFile: events, stateDir: dir, updateIntervalSeconds: 1 });
    try {
      await exporter.ready;
      const page = (await httpGet(`${exporter.url}/metrics`)).body;
      const exported = new Set(parseExposition(page).map((s) => s.name));
      const missing = [...Object.values(ds01), ...Object.values(drm), ...Object.values(exporterSelf)].map((m) => m.name).filter((n) => !exported.has(n));
      expect(missing).toEqual([]);
      expect(value(page, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(1);
      for (const source of ["simulation", "drm", "events", "state_dir", "utmp", "groups", "cgroup"]) expect(value(page, "ds01_exporter_source_up", { source }), source).toBe(1);
      expect(await promtoolFindings(page)).toEqual([]);
    } finally {
      await exporter.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
