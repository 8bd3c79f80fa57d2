import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { describe, expect, it } from "vitest";
import { buildDashboards, DEFAULT_RETENTION_SIZE_BYTES, UID } from "../../dashboards";
import { allPanels, dataPanels, isRow, parsedDashboards, targetsOf } from "./walk";

const dashboards = parsedDashboards();
const byUid = (uid: string) => {
  const d = dashboards.find((x) => x.model.uid === uid);
  if (!d) throw new Error(`no ${uid}`);
  return d.model;
};

type Box = dashboard.GridPos & { readonly what: string };

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function overlapping(boxes: readonly Box[]): string[] {
  const out: string[] = [];
  boxes.forEach((a, i) => {
    for (const b of boxes.slice(i + 1)) if (overlaps(a, b)) out.push(`${a.what} overlaps ${b.what}`);
  });
  return out;
}

function box(p: dashboard.Panel | dashboard.RowPanel): Box {
  if (!p.gridPos) throw new Error(`panel ${p.title} has no gridPos`);
  return { ...p.gridPos, what: `${p.type} "${p.title}"` };
}

describe("generated dashboards", () => {
  it("are the nine dashboards with stable UIDs, one file each", () => {
    const files = buildDashboards();
    expect(files.map((f) => f.uid)).toEqual(["ds01-overview", "ds01-user", "ds01-history", "nvidia-dcgm", "drm", "host", "stack-health", "hpc-slurm", "k8s-gpu-workloads"]);
    expect(files.map((f) => f.fileName)).toEqual(files.map((f) => `${f.uid}.json`));
    expect(new Set(files.map((f) => f.title)).size).toBe(files.length);
    for (const f of files) {
      const model = JSON.parse(f.json) as dashboard.Dashboard;
      expect(model.uid).toBe(f.uid);
      expect(model.title).toBe(f.title);
      expect(f.json.endsWith("}\n")).toBe(true);
      expect(f.json).toContain('\n  "title"');
    }
  });

  it("are identical from one build to the next", () => {
    expect(buildDashboards().map((f) => f.json)).toEqual(buildDashboards().map((f) => f.json));
  });

  it("carry a schemaVersion Grafana accepts", () => {
    for (const { model } of dashboards) {
      expect(model.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(model.schemaVersion).toBeLessThanOrEqual(42);
    }
  });

  it("give every panel and row an id unique within its dashboard", () => {
    for (const { model } of dashboards) {
      const ids = allPanels(model).map((p) => p.id);
      expect(ids.every((id) => typeof id === "number")).toBe(true);
      expect(new Set(ids).size, model.uid).toBe(ids.length);
    }
  });

  it("place no two panels on the same cells, open or collapsed, and keep all within 24 columns", () => {
    for (const { model } of dashboards) {
      const top = (model.panels ?? []).map(box);
      expect(overlapping(top), model.uid).toEqual([]);
      for (const p of allPanels(model)) {
        const b = box(p);
        expect(b.x + b.w, `${model.uid} ${b.what}`).toBeLessThanOrEqual(24);
        expect(b.w * b.h, `${model.uid} ${b.what}`).toBeGreaterThan(0);
      }
      // A collapsed row's panels open below it: they must not overlap each other, and sit under the row.
      for (const row of (model.panels ?? []).filter(isRow)) {
        const inner = row.panels.map(box);
        expect(overlapping(inner), `${model.uid} row ${row.title}`).toEqual([]);
        for (const b of inner) expect(b.y, `${model.uid} ${b.what}`).toBeGreaterThan(row.gridPos?.y ?? -1);
        if (!row.collapsed) expect(row.panels, `${model.uid} open row ${row.title}`).toEqual([]);
      }
    }
  });

  it("group panels into titled rows that collapse, some collapsed by default", () => {
    let collapsed = 0;
    for (const { model } of dashboards) {
      const top = model.panels ?? [];
      expect(top[0] && isRow(top[0]), `${model.uid} starts with a row`).toBe(true);
      const rows = top.filter(isRow);
      expect(rows.length, model.uid).toBeGreaterThanOrEqual(3);
      for (const r of rows) expect(r.title).toBeTruthy();
      collapsed += rows.filter((r) => r.collapsed).length;
    }
    expect(collapsed).toBeGreaterThan(0);
  });

  it("read from the datasource variable, which defaults to the provisioned Prometheus", () => {
    for (const { model } of dashboards) {
      const first = model.templating.list?.[0];
      expect(first?.type).toBe("datasource");
      expect(first?.name).toBe("datasource");
      expect(first?.query).toBe("prometheus");
      expect(first?.current?.value).toBe("prometheus");
      for (const v of model.templating.list?.slice(1) ?? []) {
        expect(v.type).toBe("query");
        expect(v.datasource?.uid).toBe("${datasource}");
      }
      for (const p of dataPanels(model)) {
        expect(p.datasource, `${model.uid} ${p.title}`).toEqual({ type: "prometheus", uid: "${datasource}" });
        expect(targetsOf(p).length, `${model.uid} ${p.title}`).toBeGreaterThan(0);
        for (const t of targetsOf(p)) expect(t.datasource?.uid).toBe("${datasource}");
      }
    }
  });

  it("describe every panel and set thresholds on it, and units on every graph and gauge", () => {
    for (const { model } of dashboards) {
      for (const p of dataPanels(model)) {
        const where = `${model.uid} ${p.title}`;
        expect(p.title, where).toBeTruthy();
        expect(p.description, where).toBeTruthy();
        const steps = p.fieldConfig?.defaults?.thresholds?.steps ?? [];
        expect(steps.length, where).toBeGreaterThan(0);
        expect(steps[0]?.value, where).toBeNull();
        if (["timeseries", "gauge", "bargauge", "heatmap"].includes(p.type)) expect(p.fieldConfig?.defaults?.unit, where).toBeTruthy();
      }
    }
  });

  it("use panel types that fit the data, every kind the issue names among them", () => {
    const types = new Set(dashboards.flatMap(({ model }) => dataPanels(model).map((p) => p.type)));
    for (const t of ["stat", "gauge", "timeseries", "table", "piechart", "heatmap", "state-timeline", "bargauge"]) {
      expect(types.has(t), t).toBe(true);
    }
    const typesOf = (uid: string) => dataPanels(byUid(uid)).map((p) => p.type);
    expect(typesOf(UID.drm)).toContain("heatmap");
    expect(typesOf(UID.ds01Overview)).toEqual(expect.arrayContaining(["table", "piechart", "stat"]));
    expect(typesOf(UID.stackHealth)).toContain("state-timeline");
  });

  it("link each dashboard to related ones that exist, and all of them through the tag menu", () => {
    const uids = new Set(dashboards.map((d) => d.model.uid));
    const linkedTo = new Set<string>();
    for (const { model } of dashboards) {
      const links = model.links ?? [];
      const direct = links.filter((l) => l.type === "link");
      expect(direct.length, model.uid).toBeGreaterThan(0);
      for (const l of direct) {
        const target = /^\/d\/([\w-]+)$/.exec(l.url ?? "")?.[1] ?? "";
        expect(uids.has(target), `${model.uid} -> ${l.url}`).toBe(true);
        expect(target).not.toBe(model.uid);
        linkedTo.add(target);
        expect(l.keepTime).toBe(true);
      }
      const menu = links.find((l) => l.type === "dashboards");
      expect(menu?.tags).toEqual(["gpu-monitoring"]);
      expect(model.tags).toContain("gpu-monitoring");
    }
    expect([...linkedTo].sort()).toEqual([...uids].sort());
  });

  it("DRM has the six sections of the DRM integration guide", () => {
    const rows = (byUid(UID.drm).panels ?? []).filter(isRow).map((r) => r.title);
    expect(rows).toEqual([
      "System overview",
      "Resource utilisation",
      "Performance",
      "Worker details",
      "Scaling operations",
      "Alerts and notifications",
    ]);
    const heatmaps = dataPanels(byUid(UID.drm)).filter((p) => p.type === "heatmap");
    expect(heatmaps.length).toBe(1);
    for (const h of heatmaps) expect(targetsOf(h)[0]?.legendFormat).toBe("{{worker_id}}");
  });

  it("show TSDB size against the retention size limit it is given, 20 GiB by default", () => {
    const limitPanel = (models: ReturnType<typeof parsedDashboards>) => {
      const sh = models.find((d) => d.model.uid === UID.stackHealth)?.model;
      const p = sh ? dataPanels(sh).find((x) => x.title === "TSDB size against limit") : undefined;
      if (!p) throw new Error("no TSDB limit panel");
      return p;
    };
    expect(DEFAULT_RETENTION_SIZE_BYTES).toBe(20 * 1024 ** 3);
    expect(limitPanel(dashboards).fieldConfig?.defaults?.max).toBe(DEFAULT_RETENTION_SIZE_BYTES);
    const custom = parsedDashboards({ retentionSizeBytes: 5e9 });
    const p = limitPanel(custom);
    expect(p.fieldConfig?.defaults?.max).toBe(5e9);
    const steps = p.fieldConfig?.defaults?.thresholds?.steps.map((s) => s.value);
    // Red where the TSDB size alert fires (thresholds.stack.tsdbSizeSharePercent, 85 by default), orange 5 points before.
    expect(steps).toEqual([null, 4e9, 4.25e9]);
    const share = custom
      .find((d) => d.model.uid === UID.stackHealth)
      ?.model.panels?.flatMap((x) => (isRow(x) ? x.panels : [x]))
      .find((x) => x.title === "TSDB use of limit");
    expect(share && !isRow(share) ? targetsOf(share)[0]?.expr : "").toContain("/ 5000000000");
    expect(() => buildDashboards({ retentionSizeBytes: 0 })).toThrow(/retentionSizeBytes/);
  });

  it("keep Grafana's built-in annotations and mark scaling decisions and firing alerts on the graphs", () => {
    for (const { model } of dashboards) {
      const first = model.annotations.list?.[0];
      expect(first?.builtIn, model.uid).toBe(1);
      expect(first?.type).toBe("dashboard");
    }
    const names = (uid: string) => (byUid(uid).annotations.list ?? []).slice(1).map((a) => [a.name, a.datasource?.uid]);
    expect(names(UID.drm)).toEqual([["Scaling operations", "${datasource}"]]);
    expect(names(UID.stackHealth)).toEqual([["Firing alerts", "${datasource}"]]);
  });

  it("the user dashboard filters every query by the selected user", () => {
    for (const p of dataPanels(byUid(UID.ds01User))) {
      for (const t of targetsOf(p)) expect(t.expr, p.title).toContain('user="$user"');
    }
  });
});
