import { describe, expect, it } from "vitest";
import { analyze, checkAgainstCatalog } from "../../metrics/analyze";
import { agg, catalog, dcgm, drm, ds01, lookupMetric, nre, quote, range, re, sel, type MetricDef } from "../../metrics";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const defs = Object.entries(catalog) as [string, MetricDef][];

describe("metric catalog", () => {
  it("keys each entry by its own name, with valid metric and label names", () => {
    for (const [key, def] of defs) {
      expect(def.name, key).toBe(key);
      expect(def.name, key).toMatch(METRIC_NAME);
      expect(def.help.length, `${key} has help text`).toBeGreaterThan(0);
      for (const l of def.labels) expect(l, `${key} label`).toMatch(LABEL_NAME);
      expect(new Set(def.labels).size, `${key} has no duplicate labels`).toBe(def.labels.length);
    }
  });

  it("declares only recording-rule names with a colon", () => {
    for (const [key, def] of defs) expect(key.includes(":"), key).toBe(def.source === "recording");
  });

  it("has the 17 DRM metrics of the integration guide", () => {
    expect(Object.keys(drm)).toHaveLength(17);
    expect(drm.drm_scaling_operations_total.labels).toEqual(["direction", "reason"]);
    expect(drm.drm_alerts_total.labels).toEqual(["level", "source"]);
  });

  it("keeps DS01's allocation metric names and labels", () => {
    expect(ds01.ds01_gpu_allocated.labels).toEqual(expect.arrayContaining(["gpu_slot", "container", "user", "interface"]));
    expect(ds01.ds01_containers_total.labels).toEqual(["status", "interface"]);
  });

  it("counters are named *_total except where DCGM's own names say otherwise", () => {
    for (const [key, def] of defs) {
      if (def.type !== "counter" || def.source === "dcgm") continue;
      expect(key.endsWith("_total"), key).toBe(true);
    }
  });

  it("looks up by name and misses unknown names", () => {
    expect(lookupMetric("DCGM_FI_DEV_GPU_UTIL")).toBe(dcgm.DCGM_FI_DEV_GPU_UTIL);
    expect(lookupMetric("DCGM_FI_DEV_GPU_UTILIZATION")).toBeUndefined();
  });
});

describe("selector helper", () => {
  it("renders matchers of every kind and escapes values", () => {
    expect(sel(dcgm.DCGM_FI_DEV_GPU_UTIL)).toBe("DCGM_FI_DEV_GPU_UTIL");
    expect(sel(dcgm.DCGM_FI_DEV_GPU_UTIL, { gpu: "0", GPU_I_ID: re(".+"), Hostname: nre("a|b") })).toBe(
      'DCGM_FI_DEV_GPU_UTIL{gpu="0", GPU_I_ID=~".+", Hostname!~"a|b"}',
    );
    expect(quote('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    expect(range(drm.drm_scaling_operations_total, "5m", { direction: "up" })).toBe(
      'drm_scaling_operations_total{direction="up"}[5m]',
    );
    expect(agg("sum", sel(ds01.ds01_gpu_allocated), ["user"])).toBe("sum by (user) (ds01_gpu_allocated)");
  });

  it("rejects label names the metric does not have at compile time", () => {
    // @ts-expect-error `gpuu` is not a label of DCGM_FI_DEV_GPU_UTIL
    const bad = sel(dcgm.DCGM_FI_DEV_GPU_UTIL, { gpuu: "0" });
    expect(bad).toContain("gpuu");
    // Target labels are always allowed.
    expect(sel(drm.drm_worker_count, { job: "drm", instance: "h:1" })).toBe('drm_worker_count{job="drm", instance="h:1"}');
  });

  it("builds expressions the PromQL parser accepts", () => {
    const expr = agg("avg", sel(dcgm.DCGM_FI_DEV_GPU_UTIL, { gpu: re('0|"1"') }), ["gpu"]);
    expect(analyze(expr).errors).toEqual([]);
    expect(checkAgainstCatalog(expr)).toEqual([]);
  });
});

describe("expression analyzer", () => {
  it("reports syntax errors", () => {
    expect(analyze("sum(rate(up[5m])").errors.length).toBeGreaterThan(0);
  });

  it("finds metrics outside the catalog and unknown labels", () => {
    const problems = checkAgainstCatalog('sum by (nope) (rate(not_a_metric[5m])) + up{bogus="1"}');
    expect(problems).toEqual(
      expect.arrayContaining([
        "metric not_a_metric is not in the catalog",
        "label bogus is not a label of up",
        "grouping label nope is not a label of any metric in the expression",
      ]),
    );
  });

  it("accepts labels made by label_replace and given as extra labels", () => {
    const expr = 'sum by (slot, cluster) (label_replace(DCGM_FI_DEV_GPU_UTIL, "slot", "$1", "gpu", "(.*)"))';
    expect(checkAgainstCatalog(expr)).toEqual(["grouping label cluster is not a label of any metric in the expression"]);
    expect(checkAgainstCatalog(expr, ["cluster"])).toEqual([]);
  });

  it("reads metric names from __name__ matchers", () => {
    expect(analyze('{__name__="up", job="x"}').metrics).toEqual(["up"]);
  });
});
