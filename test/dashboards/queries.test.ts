import { describe, expect, it } from "vitest";
import {
  BUILTIN_VARIABLE_SAMPLES,
  dashboardQueries,
  dashboardVariables,
  substituteVariables,
  UID,
} from "../../dashboards";
import { DCGM_INT64_SENTINEL_THRESHOLD, DCGM_SENTINEL_THRESHOLD, lookupMetric, TARGET_LABELS } from "../../metrics";
import { analyze, checkAgainstCatalog, NON_PORTABLE_FUNCTIONS } from "../../metrics/analyze";
import { alertingSchema } from "../../alerts/config";
import { RECORDING_RULE_FILE, renderRuleFiles } from "../../alerts/render";
import { defaultThresholds } from "../../metrics/thresholds";
import { parse } from "yaml";
import { dataPanels, parsedDashboards, targetsOf } from "./walk";

/** The stack's recording rules at the default thresholds. */
function recordingRules(): { record: string; expr: string }[] {
  const file = renderRuleFiles({ thresholds: defaultThresholds(), alerting: alertingSchema.parse(undefined), retentionSize: "20GB" }).find((f) => f.fileName === RECORDING_RULE_FILE);
  const doc = parse(file?.content ?? "") as { groups: { rules: { record: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

const SAMPLE = "sample-value";

const sampleCache = new Map<string, Record<string, string>>();
function samplesFor(uid: string): Record<string, string> {
  let s = sampleCache.get(uid);
  if (!s) {
    s = Object.fromEntries(dashboardVariables(uid).map((v) => [v.name, SAMPLE]));
    sampleCache.set(uid, s);
  }
  return s;
}

const queries = dashboardQueries();
const uids = Object.values(UID);

describe("dashboard queries", () => {
  it("lists exactly the query targets the generated JSON holds", () => {
    const fromJson = parsedDashboards().flatMap(({ model }) => [
      ...dataPanels(model).flatMap((p) =>
        targetsOf(p).map((t) => ({ dashboardUid: model.uid, panelId: p.id, panelTitle: p.title, refId: t.refId, expr: t.expr })),
      ),
      ...(model.annotations.list ?? [])
        .filter((a) => a.expr !== undefined)
        .map((a) => ({ dashboardUid: model.uid, panelId: 0, panelTitle: `Annotation: ${a.name}`, refId: "annotation", expr: a.expr })),
    ]);
    const fromApi = queries.map(({ dashboardUid, panelId, panelTitle, refId, expr }) => ({ dashboardUid, panelId, panelTitle, refId, expr }));
    expect(fromApi).toEqual(fromJson);
    expect(queries.length).toBeGreaterThan(100);
    for (const uid of uids) expect(queries.filter((q) => q.dashboardUid === uid).length).toBeGreaterThan(5);
  });

  it("every query, variables substituted, parses and uses only catalog metrics and their labels", () => {
    const problems: string[] = [];
    for (const q of queries) {
      const expr = substituteVariables(q.expr, samplesFor(q.dashboardUid));
      const found = checkAgainstCatalog(expr);
      if (analyze(expr).metrics.length === 0) found.push("uses no metric");
      for (const p of found) problems.push(`${q.dashboardUid} / ${q.panelTitle}: ${p}\n    ${expr}`);
    }
    expect(problems).toEqual([]);
  });

  it("every variable a query uses is defined on its dashboard, and nothing else is left unsubstituted", () => {
    const problems: string[] = [];
    for (const q of queries) {
      const defined = new Set([...Object.keys(samplesFor(q.dashboardUid)), ...Object.keys(BUILTIN_VARIABLE_SAMPLES)]);
      for (const m of q.expr.matchAll(/\$\{(\w+)[^}]*\}|\$([A-Za-z_]\w*)/g)) {
        const name = m[1] ?? m[2] ?? "";
        if (!defined.has(name)) problems.push(`${q.dashboardUid} / ${q.panelTitle}: $${name} is not defined`);
      }
      // What remains may only be label_replace's "$1" back-reference.
      const rest = substituteVariables(q.expr, samplesFor(q.dashboardUid)).replace(/"\$1"/g, "");
      if (rest.includes("$")) problems.push(`${q.dashboardUid} / ${q.panelTitle}: unsubstituted $ in ${rest}`);
    }
    expect(problems).toEqual([]);
  });

  it("legends and annotation texts name only labels the query's series can carry", () => {
    const problems: string[] = [];
    for (const { model } of parsedDashboards()) {
      for (const p of dataPanels(model)) {
        for (const t of targetsOf(p)) {
          const usage = analyze(t.expr ?? "");
          const known = new Set<string>([
            ...TARGET_LABELS,
            ...usage.createdLabels,
            ...usage.metrics.flatMap((m) => lookupMetric(m)?.labels ?? []),
          ]);
          for (const m of (t.legendFormat ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
            if (!known.has(m[1] ?? "")) problems.push(`${model.uid} / ${p.title}: legend label ${m[1]}`);
          }
        }
      }
    }
    for (const { model } of parsedDashboards()) {
      for (const a of model.annotations.list ?? []) {
        if (!a.expr) continue;
        const usage = analyze(a.expr);
        const known = new Set<string>([...TARGET_LABELS, ...usage.metrics.flatMap((m) => lookupMetric(m)?.labels ?? [])]);
        const used = [...`${a.titleFormat ?? ""} ${a.textFormat ?? ""}`.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1] ?? "");
        for (const l of [...used, ...(a.tagKeys ?? "").split(",")]) {
          if (!known.has(l)) problems.push(`${model.uid} annotation ${a.name}: label ${l}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("uses no function that Prometheus 2.42 lacks or 3.x removed", () => {
    const used = queries.flatMap((q) => analyze(substituteVariables(q.expr, samplesFor(q.dashboardUid))).functions);
    expect(used.filter((f) => NON_PORTABLE_FUNCTIONS.has(f))).toEqual([]);
  });

  it("expects data except where emptiness is healthy or the source is optional", () => {
    // The Kubernetes dashboard's panels need kube-state-metrics, which only a cluster runs; every one
    // of its queries is run on kube-state-metrics' series by test/kubernetes/kube-state-metrics-live.test.ts.
    const optional = queries.filter((q) => !q.expectData && q.dashboardUid !== UID.k8sGpuWorkloads);
    // cAdvisor does not run in the end-to-end stack; its panels must not be required to have data.
    for (const q of queries.filter((q) => analyze(q.expr).metrics.some((m) => m.startsWith("container_")))) {
      expect(q.expectData, `${q.dashboardUid} / ${q.panelTitle}`).toBe(false);
    }
    expect(optional.length).toBeLessThan(queries.length / 3);
  });
});

describe("dashboard variables", () => {
  it("read catalog metrics and labels those metrics have", () => {
    const problems: string[] = [];
    for (const uid of uids) {
      for (const v of dashboardVariables(uid)) {
        // Built-ins ($__range for a ranking over the time range) as Grafana fills them.
        const expr = substituteVariables(v.expr, {});
        for (const p of checkAgainstCatalog(expr)) problems.push(`${uid} $${v.name}: ${p}`);
        const usage = analyze(expr);
        const labels = new Set([...TARGET_LABELS, ...usage.createdLabels, ...usage.metrics.flatMap((m) => lookupMetric(m)?.labels ?? [])]);
        if (!labels.has(v.label)) problems.push(`${uid} $${v.name}: label ${v.label} not on its series`);
        if (!v.query.includes(v.expr)) problems.push(`${uid} $${v.name}: query ${v.query} does not run ${v.expr}`);
        // "All" is any value, or (a top-k list) exactly the options listed.
        if (v.includeAll && v.allValue !== undefined) expect(v.allValue).toBe(".*");
      }
    }
    expect(problems).toEqual([]);
  });

  it("give each dashboard the selectors it needs", () => {
    const names = (uid: string) => dashboardVariables(uid).map((v) => v.name);
    expect(names(UID.ds01User)).toEqual(["user", "top_containers_cpu", "top_containers_memory"]);
    expect(names(UID.nvidiaDcgm)).toEqual(["host", "gpu"]);
    expect(names(UID.drm)).toEqual(["worker", "top_workers"]);
    expect(names(UID.host)).toEqual(["instance", "top_containers_cpu", "top_containers_memory", "top_containers_network"]);
    expect(names(UID.stackHealth)).toEqual(["job"]);
    expect(names(UID.hpcSlurm)).toEqual(["partition"]);
    expect(names(UID.k8sGpuWorkloads)).toEqual(["namespace"]);
    expect(() => dashboardVariables("no-such-dashboard")).toThrow(/no dashboard/);
  });

  it("the DCGM host variable finds hosts under either label spelling", () => {
    const host = dashboardVariables(UID.nvidiaDcgm).find((v) => v.name === "host");
    expect(host?.query.startsWith("query_result(")).toBe(true);
    // It reads a recorded series whose rule folds both spellings into `host` (test/alerts/dcgm-recording.test.ts runs it).
    const read = analyze(host?.expr ?? "").metrics;
    expect(read).toEqual(["gpu:DCGM_FI_DEV_GPU_TEMP:measured"]);
    const rule = recordingRules().find((r) => r.record === read[0]);
    expect(rule?.expr).toContain('"Hostname"');
    expect(rule?.expr).toContain('"hostname"');
    // Grafana applies the variable's regex to each result series printed as {labels} value.
    const json = parsedDashboards().find((d) => d.model.uid === UID.nvidiaDcgm)?.model;
    const regex = json?.templating.list?.find((v) => v.name === "host")?.regex ?? "";
    const m = /^\/(.*)\/$/.exec(regex);
    expect(m).not.toBeNull();
    expect(new RegExp(m?.[1] ?? "").exec('{host="gpu-07"} 8 1700000000000')?.[1]).toBe("gpu-07");
  });
});

describe("substituteVariables", () => {
  it("fills $name, ${name} and ${name:format}, Grafana's interval variables, and leaves the rest", () => {
    expect(substituteVariables('a{u="$user"}[$__rate_interval]', { user: "bob" })).toBe('a{u="bob"}[1m]');
    expect(substituteVariables("${user} ${user:regex} $__range", { user: "x" })).toBe("x x 1h");
    expect(substituteVariables('label_replace(m, "d", "$1", "s", "(.+)") $other', {})).toBe('label_replace(m, "d", "$1", "s", "(.+)") $other');
  });
});

describe("DCGM dashboard", () => {
  const dcgmQueries = queries.filter((q) => q.dashboardUid === UID.nvidiaDcgm);
  /** Metrics a query reads; variables substituted first, so Grafana's built-ins ($__range_s) read as numbers. */
  const metricsOf = (expr: string) => analyze(substituteVariables(expr, samplesFor(UID.nvidiaDcgm))).metrics;

  /** Whether a query reads DCGM's raw series, or only series recorded from them. */
  const readsRaw = (expr: string) => metricsOf(expr).some((m) => m.startsWith("DCGM_FI_"));
  const cleaned = new Map(recordingRules().map((r) => [r.record, r.expr]));

  it("drops DCGM's blank values in every query, at query time or in the recording it reads", () => {
    for (const q of dcgmQueries) {
      if (readsRaw(q.expr)) expect(q.expr, q.panelTitle).toContain(`< ${DCGM_SENTINEL_THRESHOLD}`);
      // A gauge's recording drops every blank (float and int64); a counter's window the int64 blanks, its field's kind.
      for (const m of metricsOf(q.expr).filter((x) => !x.startsWith("DCGM_FI_"))) {
        expect(cleaned.get(m), `${q.panelTitle}: ${m}`).toMatch(new RegExp(`< (${DCGM_SENTINEL_THRESHOLD}|${DCGM_INT64_SENTINEL_THRESHOLD})\\b`));
      }
    }
  });

  it("selects hosts under both the Hostname and the hostname label in every raw query, and by the folded host label otherwise", () => {
    for (const q of dcgmQueries) {
      if (readsRaw(q.expr)) {
        expect(q.expr, q.panelTitle).toContain('Hostname=~"$host"');
        expect(q.expr, q.panelTitle).toContain('hostname=~"$host"');
      } else expect(q.expr, q.panelTitle).toContain('host=~"$host"');
    }
  });

  it("reads raw DCGM series only for counters, whose rate window follows the panel's range", () => {
    const raw = dcgmQueries.filter((q) => readsRaw(q.expr));
    for (const q of raw) expect(q.expr, q.panelTitle).toMatch(/\b(rate|increase)\(/);
    expect(raw.length).toBeLessThan(dcgmQueries.length / 3);
  });
});
