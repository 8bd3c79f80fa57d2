import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardQueries, dashboardVariables, substituteVariables, UID, type DashboardQuery } from "../../dashboards";
import { DCGM_SENTINEL_THRESHOLD } from "../../metrics";
import { defaultVariableValue } from "../e2e/checks/variables";
import { FIXTURE_CONTAINERS, FIXTURE_HOSTS } from "./exposition";
import { startLiveStack, type LiveStack, type PromResult, type PromSeries } from "./liveStack";

/**
 * Every dashboard query against a real Prometheus 2.42 scraping itself, a real Alertmanager, a
 * real node-exporter and the fixture GPU site (exposition.ts), with each dashboard's variables
 * filled the way Grafana fills them: from their own queries, first value, and "All" where allowed.
 */

let stack: LiveStack;
const queries = dashboardQueries();

beforeAll(async () => {
  stack = await startLiveStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** The expression of one panel query. */
function exprOf(uid: string, title: string, refId = "A"): string {
  const q = queries.find((x) => x.dashboardUid === uid && x.panelTitle === title && x.refId === refId);
  if (!q) throw new Error(`no query ${uid} / ${title} ${refId}`);
  return q.expr;
}

function values(s: PromSeries): number[] {
  const raw = s.value ? [s.value] : (s.values ?? []);
  return raw.map(([, v]) => Number(v));
}

/**
 * Each variable's options, in the dashboard's order: a variable that refers to an earlier one
 * ($top_containers_cpu to $user) sees that one at its default, or at `given` where set.
 */
async function optionsOf(uid: string, given: Readonly<Record<string, string>> = {}): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const values: Record<string, string> = {};
  for (const v of dashboardVariables(uid)) {
    // Built-ins such as $__range filled as Grafana fills them when the variable refreshes.
    const r = await stack.query(substituteVariables(v.expr, values));
    if (!r.ok) throw new Error(`variable $${v.name} of ${uid}: ${r.error}`);
    const options = [...new Set(r.series.map((s) => s.metric[v.label]).filter((x): x is string => !!x))].sort();
    out.set(v.name, options);
    values[v.name] = given[v.name] ?? defaultVariableValue(v, options, v.allValue)?.text ?? "";
  }
  return out;
}

/**
 * Variable assignments to try: the defaults Grafana opens the dashboard with (All where a variable
 * offers it, else the first option), and every variable at its first option.
 */
async function assignments(uid: string): Promise<{ values: Record<string, string>; isDefault: boolean }[]> {
  const options = await optionsOf(uid);
  const vars = dashboardVariables(uid);
  const first = Object.fromEntries(vars.map((v) => [v.name, options.get(v.name)?.[0] ?? ""]));
  const defaults = Object.fromEntries(
    vars.map((v) => [v.name, v.includeAll ? (defaultVariableValue(v, options.get(v.name) ?? [], v.allValue)?.text ?? "") : (options.get(v.name)?.[0] ?? "")]),
  );
  const out = [{ values: defaults, isDefault: true }];
  if (vars.some((v) => v.includeAll)) out.push({ values: first, isDefault: false });
  return out;
}

interface Outcome {
  readonly q: DashboardQuery;
  readonly isDefault: boolean;
  readonly expr: string;
  readonly instant: PromResult;
  readonly range: PromResult;
}

async function runAll(): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const uid of Object.values(UID)) {
    for (const { values, isDefault } of await assignments(uid)) {
      for (const q of queries.filter((x) => x.dashboardUid === uid)) {
        // The fixture site is scraped every second and has run for seconds, not an hour: Grafana's
        // interval for it is seconds too (a 30 s interval would sample it before it existed).
        const expr = substituteVariables(q.expr, { __interval: "2s", __interval_ms: "2000", ...values });
        outcomes.push({ q, isDefault, expr, instant: await stack.query(expr), range: await stack.queryRange(expr, 60) });
      }
    }
  }
  return outcomes;
}

describe("dashboard queries against a live Prometheus", () => {
  let outcomes: Outcome[] = [];

  beforeAll(async () => {
    outcomes = await runAll();
  }, 120_000);

  it("every variable has options on a working stack", async () => {
    for (const uid of Object.values(UID)) {
      for (const [name, opts] of await optionsOf(uid)) expect(opts.length, `${uid} $${name}`).toBeGreaterThan(0);
    }
    expect((await optionsOf(UID.nvidiaDcgm)).get("host")).toEqual([...FIXTURE_HOSTS]);
  });

  it("every query executes, instant and over a range, without an error", () => {
    expect(outcomes.length).toBeGreaterThan(queries.length);
    const failed = outcomes.flatMap((o) =>
      [o.instant, o.range].flatMap((r) => (r.ok ? [] : [`${o.q.dashboardUid} / ${o.q.panelTitle}: ${r.error}\n    ${o.expr}`])),
    );
    expect(failed).toEqual([]);
  });

  it("every panel that should have data returns at least one series with the default variable values", () => {
    const empty = outcomes
      .filter((o) => o.isDefault && o.q.expectData && (!o.instant.ok || o.instant.series.length === 0))
      .map((o) => `${o.q.dashboardUid} / ${o.q.panelTitle} (${o.q.refId}): ${o.expr}`);
    expect(empty).toEqual([]);
  });

  it("no panel ever shows a DCGM blank value", () => {
    const blanks = outcomes.flatMap((o) =>
      [o.instant, o.range].flatMap((r) =>
        r.ok && r.series.some((s) => values(s).some((v) => v >= DCGM_SENTINEL_THRESHOLD)) ? [`${o.q.dashboardUid} / ${o.q.panelTitle}`] : [],
      ),
    );
    expect(blanks).toEqual([]);
  });
});

describe("DRM busiest workers", () => {
  it("draws only the workers $top_workers ranks, all of them when fewer than ten, and none when it lists none", async () => {
    const heatmap = queries.find((x) => x.dashboardUid === UID.drm && x.panelTitle === "Busiest workers (CPU over the range)");
    if (!heatmap) throw new Error("no busiest-workers panel");
    const top = (await optionsOf(UID.drm)).get("top_workers") ?? [];
    const now = await stack.query("drm_worker_cpu_utilization_percent");
    if (!now.ok) throw new Error(now.error);
    const alive = now.series.map((s) => s.metric.worker_id).sort();
    expect(alive.length).toBeGreaterThan(0);
    expect(alive.length).toBeLessThan(10);
    expect(top).toEqual(alive);
    const drawn = async (value: string) => {
      const r = await stack.queryRange(substituteVariables(heatmap.expr, { top_workers: value }), 60);
      if (!r.ok) throw new Error(r.error);
      return r.series.map((s) => s.metric.worker_id).sort();
    };
    const all = defaultVariableValue({ name: "top_workers", multi: true, includeAll: true }, top, undefined)?.text ?? "";
    expect(await drawn(all)).toEqual(alive);
    expect(await drawn(`(${top[0] ?? ""})`)).toEqual([top[0]]);
    // What Grafana sends for "All" over no options, and for an empty value: neither selects every worker.
    expect(await drawn("()")).toEqual([]);
    expect(await drawn("")).toEqual([]);
  });
});

describe("container panels", () => {
  const drawn = async (expr: string, vars: Record<string, string>) => {
    const r = await stack.queryRange(substituteVariables(expr, vars), 60);
    if (!r.ok) throw new Error(r.error);
    return [...new Set(r.series.map((s) => s.metric.name ?? ""))].sort();
  };
  const all = (name: string, options: readonly string[]) => defaultVariableValue({ name, multi: true, includeAll: true }, options, undefined)?.text ?? "";
  const topBy = (key: "cores" | "memory" | "receive") =>
    [...FIXTURE_CONTAINERS]
      .sort((a, b) => b[key] - a[key])
      .slice(0, 10)
      .map((c) => c.name)
      .sort();

  it("host: each variable lists the ten containers ranking highest over the range, its panels draw exactly those, and none when it lists none", async () => {
    const options = await optionsOf(UID.host);
    const panels = [
      { variable: "top_containers_cpu", key: "cores", panels: [exprOf(UID.host, "Container CPU")] },
      { variable: "top_containers_memory", key: "memory", panels: [exprOf(UID.host, "Container memory")] },
      { variable: "top_containers_network", key: "receive", panels: [exprOf(UID.host, "Container network"), exprOf(UID.host, "Container network", "B")] },
    ] as const;
    // Twelve named containers and the unnamed root cgroup: the two least busy and the root are left out.
    expect(FIXTURE_CONTAINERS.length).toBeGreaterThan(10);
    for (const p of panels) {
      const top = options.get(p.variable) ?? [];
      expect(top, p.variable).toEqual(topBy(p.key));
      expect(top).not.toContain("svc-01");
      for (const expr of p.panels) {
        expect(await drawn(expr, { [p.variable]: all(p.variable, top) }), p.variable).toEqual(top);
        expect(await drawn(expr, { [p.variable]: "(svc-01)" })).toEqual(["svc-01"]);
        // What Grafana sends for "All" over no options, and for an empty value: neither selects every container.
        expect(await drawn(expr, { [p.variable]: "()" })).toEqual([]);
        expect(await drawn(expr, { [p.variable]: "" })).toEqual([]);
      }
    }
  });

  it("DS01 My Usage: the variables list only the user's GPU containers, and the panels draw only those", async () => {
    const cpu = exprOf(UID.ds01User, "CPU per container");
    const memory = exprOf(UID.ds01User, "Memory per container");
    const againstLimit = exprOf(UID.ds01User, "Memory against limit");
    for (const [user, container] of [
      ["alice", "train._.alice"],
      ["bob", "nb._.bob"],
    ] as const) {
      const options = await optionsOf(UID.ds01User, { user });
      expect(options.get("top_containers_cpu"), user).toEqual([container]);
      expect(options.get("top_containers_memory"), user).toEqual([container]);
      const vars = { user, top_containers_cpu: all("top_containers_cpu", [container]), top_containers_memory: all("top_containers_memory", [container]) };
      expect(await drawn(cpu, vars)).toEqual([container]);
      expect(await drawn(memory, vars)).toEqual([container]);
      // A container the user never held, even if listed, is not drawn.
      expect(await drawn(cpu, { ...vars, top_containers_cpu: all("top_containers_cpu", ["svc-10", container]) })).toEqual([container]);
      expect(await drawn(memory, { ...vars, top_containers_memory: "()" })).toEqual([]);
    }
    // bob's container has no memory limit (0): left out rather than divided by zero.
    const limited = { top_containers_memory: all("top_containers_memory", ["train._.alice"]), top_containers_cpu: "()" };
    expect(await drawn(againstLimit, { user: "alice", ...limited })).toEqual(["train._.alice"]);
    expect(await drawn(againstLimit, { user: "bob", ...limited, top_containers_memory: all("top_containers_memory", ["nb._.bob"]) })).toEqual([]);
  });
});

describe("DCGM and DS01 semantics on the fixture site", () => {
  const run = async (expr: string, vars: Record<string, string>) => {
    const r = await stack.query(substituteVariables(expr, vars));
    if (!r.ok) throw new Error(r.error);
    return r.series;
  };

  it("selects a host whichever way its exporter spells the host label", async () => {
    const util = exprOf(UID.nvidiaDcgm, "GPU utilisation");
    // gpu01 (Hostname): GPUs 0 and 1; its MIG GPU's device utilisation is blank and left out.
    const gpu01 = await run(util, { host: "gpu01", gpu: ".*" });
    expect(gpu01.map((s) => s.metric.gpu).sort()).toEqual(["0", "1"]);
    // gpu02 (hostname): one GPU.
    const gpu02 = await run(util, { host: "gpu02", gpu: ".*" });
    expect(gpu02.map((s) => [s.metric.host, s.value?.[1]])).toEqual([["gpu02", "55"]]);
    // "All" takes both hosts, each series once.
    expect((await run(util, { host: ".*", gpu: ".*" })).length).toBe(3);
  });

  it("counts ECC errors from raw counters under either host spelling, each GPU entity once", async () => {
    const ecc = exprOf(UID.nvidiaDcgm, "ECC errors");
    const entities = async (host: string) =>
      (await run(ecc, { host, gpu: ".*" })).map((s) => `${s.metric.Hostname ?? s.metric.hostname} ${s.metric.gpu} ${s.metric.GPU_I_ID ?? ""}`).sort();
    // gpu01 (Hostname): two full GPUs and two MIG instances; gpu02 (hostname): one GPU.
    expect(await entities("gpu01")).toEqual(["gpu01 0 ", "gpu01 1 ", "gpu01 2 1", "gpu01 2 2"]);
    expect(await entities("gpu02")).toEqual(["gpu02 0 "]);
    expect(await entities(".*")).toEqual([...(await entities("gpu01")), ...(await entities("gpu02"))]);
  });

  it("counts the energy of a GPU whose counter reads blank on one MIG instance from its other instance", async () => {
    const energy = await run(exprOf(UID.nvidiaDcgm, "Energy in range"), { host: "gpu01", gpu: "2", __range: "1m" });
    expect(energy).toHaveLength(1);
    expect(Number(energy[0]?.value?.[1])).toBeGreaterThan(0);
    expect(Number(energy[0]?.value?.[1])).toBeLessThan(1);
  });

  it("shows MIG instances on the DCGM dashboard when MIG GPUs are selected", async () => {
    const mig = await run(exprOf(UID.nvidiaDcgm, "MIG instance utilisation"), { host: ".*", gpu: ".*" });
    expect(mig.map((s) => [s.metric.GPU_I_ID, s.metric.GPU_I_PROFILE]).sort()).toEqual([
      ["1", "3g.20gb"],
      ["2", "2g.10gb"],
    ]);
    expect(await run(exprOf(UID.nvidiaDcgm, "MIG instance utilisation"), { host: ".*", gpu: "0" })).toEqual([]);
  });

  it("names MIG instances by DS01 slot and scales their activity to percent", async () => {
    const mig = await run(exprOf(UID.ds01Overview, "GPU utilisation per device", "B"), {});
    expect(mig.map((s) => [s.metric.gpu_slot, Math.round(Number(s.value?.[1]))]).sort()).toEqual([
      ["2.0", 42],
      ["2.1", 7],
    ]);
  });

  it("the overview's GPU-equivalents and MIG capacity add up", async () => {
    const free = await run(exprOf(UID.ds01Overview, "GPU-equivalents free"), {});
    expect(Number(free[0]?.value?.[1])).toBeCloseTo(3 - 1 - 3 / 7, 5);
    const migFree = await run(exprOf(UID.ds01Overview, "MIG free"), {});
    expect(Number(migFree[0]?.value?.[1])).toBe(1);
  });
});
