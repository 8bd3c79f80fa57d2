import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import { buildDashboards } from "../../dashboards";

export interface ParsedDashboard {
  readonly fileName: string;
  readonly model: dashboard.Dashboard;
}

/** The dashboards as Grafana will read them: parsed back from the generated JSON. */
export function parsedDashboards(opts?: { retentionSizeBytes?: number }): ParsedDashboard[] {
  return buildDashboards(opts).map((f) => ({ fileName: f.fileName, model: JSON.parse(f.json) as dashboard.Dashboard }));
}

export function isRow(p: dashboard.Panel | dashboard.RowPanel): p is dashboard.RowPanel {
  return p.type === "row";
}

/** Top-level rows and panels, and the panels kept inside collapsed rows. */
export function allPanels(d: dashboard.Dashboard): (dashboard.Panel | dashboard.RowPanel)[] {
  return (d.panels ?? []).flatMap((p) => (isRow(p) ? [p, ...p.panels] : [p]));
}

export function dataPanels(d: dashboard.Dashboard): dashboard.Panel[] {
  return allPanels(d).filter((p): p is dashboard.Panel => !isRow(p));
}

export function targetsOf(p: dashboard.Panel): prometheus.Dataquery[] {
  return (p.targets ?? []) as prometheus.Dataquery[];
}
