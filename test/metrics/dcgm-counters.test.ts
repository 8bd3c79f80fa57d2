import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { alertingSchema } from "../../alerts/config";
import { renderRuleFiles } from "../../alerts/render";
import { dashboardQueries, dashboardVariables, substituteVariables, UID } from "../../dashboards";
import { DCGM_LABEL_FIELDS, dcgm, lookupMetric, renderDcgmCounters } from "../../metrics";
import { analyze } from "../../metrics/analyze";
import { defaultThresholds } from "../../metrics/thresholds";

/** Field names and ids dcgm-exporter looks counter-list names up in (go-dcgm's field maps). */
const KNOWN_FIELDS: ReadonlyMap<string, number> = new Map(
  readFileSync(path.join(__dirname, "dcgm-field-ids.txt"), "utf8")
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [name, id] = l.split(" ");
      return [name!, Number(id)];
    }),
);

/** The Prometheus types dcgm-exporter's parser accepts (its promMetricType). */
const EXPORTER_TYPES = new Set(["gauge", "counter", "histogram", "summary", "label"]);

interface Record3 {
  readonly field: string;
  readonly type: string;
  readonly help: string;
}

/**
 * Reads a counter list the way dcgm-exporter does (encoding/csv with `#` comments, every record
 * as many fields as the first, each trimmed of spaces, exactly three), throwing where it would.
 */
function readCounterList(text: string): Record3[] {
  const records: string[][] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "" || line.startsWith("#")) continue;
    if (line.includes('"')) throw new Error(`line ${i + 1}: a quote in an unquoted field`);
    records.push(line.split(","));
  }
  return records.map((r, i) => {
    if (r.length !== records[0]!.length) throw new Error(`record ${i}: wrong number of fields`);
    const [field, type, help] = r.map((f) => f.replace(/^ +| +$/g, ""));
    if (r.length !== 3) throw new Error(`record ${i}: expected 3 fields, got ${r.length}`);
    if (!EXPORTER_TYPES.has(type!)) throw new Error(`record ${i}: could not find Prometheus metric type '${type}'`);
    return { field: field!, type: type!, help: help! };
  });
}

/** Every metric name an alerting or recording rule or a dashboard query reads. */
function metricsRead(): Set<string> {
  const exprs: string[] = [];
  const files = renderRuleFiles({
    thresholds: defaultThresholds(),
    alerting: alertingSchema.parse(undefined),
    retentionSize: "20GB",
    kubeStateMetrics: true,
    cadvisor: true,
  });
  for (const f of files) {
    const doc = parse(f.content) as { groups: { rules: { expr: string }[] }[] };
    for (const g of doc.groups) for (const r of g.rules) exprs.push(r.expr);
  }
  const samples = new Map<string, Record<string, string>>();
  for (const uid of Object.values(UID)) {
    const vars = dashboardVariables(uid);
    const values = Object.fromEntries(vars.map((v) => [v.name, "sample"]));
    samples.set(uid, values);
    for (const v of vars) if (v.expr) exprs.push(substituteVariables(v.expr, values));
  }
  for (const q of dashboardQueries()) exprs.push(substituteVariables(q.expr, samples.get(q.dashboardUid) ?? {}));
  const names = new Set<string>();
  for (const e of exprs) {
    const usage = analyze(e);
    expect(usage.errors, e).toEqual([]);
    for (const m of usage.metrics) names.add(m);
  }
  return names;
}

describe("the DCGM counter list the stack deploys", () => {
  const csv = renderDcgmCounters();
  const records = readCounterList(csv);
  const byField = new Map(records.map((r) => [r.field, r]));

  it("parses the way dcgm-exporter parses it: three trimmed fields a record, known types, no field twice", () => {
    expect(records.length).toBeGreaterThan(20);
    expect(byField.size).toBe(records.length);
    for (const line of csv.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) expect(line).toMatch(/^DCGM_FI_[A-Z0-9_]+, (gauge|counter|label), [^,"]+$/);
  });

  it("names only fields dcgm-exporter knows", () => {
    for (const r of records) expect(KNOWN_FIELDS.has(r.field), `${r.field} is a DCGM field name`).toBe(true);
  });

  it("collects every DCGM field an alert, a recording rule or a dashboard reads, with the catalog's type and help", () => {
    const read = [...metricsRead()].filter((m) => lookupMetric(m)?.source === "dcgm").sort();
    // The set is derived, not listed: it must hold the fields the stock lists leave out.
    expect(read).toEqual(expect.arrayContaining(["DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "DCGM_FI_DEV_THERMAL_VIOLATION", "DCGM_FI_DEV_ROW_REMAP_FAILURE"]));
    for (const name of read) {
      const def = lookupMetric(name)!;
      expect(byField.get(name), `${name} is in the counter list`).toEqual({ field: name, type: def.type, help: def.help });
    }
  });

  it("writes every DCGM field the catalog declares, and the driver version as a label", () => {
    expect(records.filter((r) => r.type !== "label").map((r) => r.field)).toEqual(Object.keys(dcgm));
    expect(records.filter((r) => r.type === "label")).toEqual(Object.entries(DCGM_LABEL_FIELDS).map(([field, help]) => ({ field, type: "label", help })));
    for (const field of Object.keys(DCGM_LABEL_FIELDS)) expect(dcgm.DCGM_FI_DEV_GPU_UTIL.labels as readonly string[]).toContain(field);
  });

  it("refuses help text that would break the CSV instead of shipping a list the exporter rejects", () => {
    expect(() => renderDcgmCounters([{ field: "DCGM_FI_DEV_GPU_TEMP", type: "gauge", help: "GPU temperature, in C." }])).toThrow(/DCGM_FI_DEV_GPU_TEMP: help text .* without commas or quotes/);
    expect(() => renderDcgmCounters([{ field: "DCGM_FI_DEV_GPU_TEMP", type: "gauge", help: 'the "core" temperature' }])).toThrow(/DCGM_FI_DEV_GPU_TEMP/);
    expect(() => renderDcgmCounters([{ field: "gpu_temp", type: "gauge", help: "x" }])).toThrow(/gpu_temp: not a DCGM field name/);
  });
});
