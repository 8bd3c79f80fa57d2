import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { datasourceVariable, prometheusRef } from "./datasource";
import { layOut, type PlacedPanel, type Section } from "./layout";
import { variableBuilder, type VariableDef } from "./variables";

/** Tag every dashboard of the stack carries; the "GPU monitoring" link menu lists by it. */
export const STACK_TAG = "gpu-monitoring";

/** Accepted by Grafana 10.4 and later; newer Grafana migrates it forward on load. */
export const SCHEMA_VERSION = 39;

/**
 * Events drawn across the dashboard's graphs from a PromQL query (each series a region while it
 * has a value), e.g. scaling decisions over the utilisation they followed.
 */
export interface AnnotationDef {
  readonly name: string;
  readonly description: string;
  readonly expr: string;
  /** Legend-style templates: "Scale {{direction}}". */
  readonly title: string;
  readonly text: string;
  /** Labels that become the event's tags. */
  readonly tagKeys: readonly string[];
  readonly color: string;
}

/** A dashboard as code: what it answers, its variables, its rows, and the dashboards next to it. */
export interface DashboardDef {
  readonly uid: string;
  readonly title: string;
  /** What the dashboard answers, for its description and the generated docs. */
  readonly description: string;
  readonly tags: readonly string[];
  readonly variables: readonly VariableDef[];
  readonly sections: readonly Section[];
  /** UIDs of related dashboards, linked from the top bar. */
  readonly related: readonly string[];
  readonly annotations?: readonly AnnotationDef[];
  readonly refresh?: string;
  readonly timeFrom?: string;
}

export interface RenderedDashboard {
  readonly def: DashboardDef;
  readonly model: dashboard.Dashboard;
  readonly panels: readonly PlacedPanel[];
}

/** Titles of the stack's dashboards by UID, for link labels. */
export type TitleLookup = (uid: string) => string;

export function dashboardUrl(uid: string): string {
  return `/d/${uid}`;
}

export function renderDashboard(def: DashboardDef, titleOf: TitleLookup): RenderedDashboard {
  const b = new dashboard.DashboardBuilder(def.title)
    .uid(def.uid)
    .description(def.description)
    .tags([STACK_TAG, ...def.tags])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .timezone("browser")
    .time({ from: def.timeFrom ?? "now-6h", to: "now" })
    .refresh(def.refresh ?? "30s")
    .withVariable(datasourceVariable());
  for (const v of def.variables) b.withVariable(variableBuilder(v));
  for (const uid of def.related) {
    b.link(
      new dashboard.DashboardLinkBuilder(titleOf(uid))
        .type(dashboard.DashboardLinkType.Link)
        .url(dashboardUrl(uid))
        .icon("dashboard")
        .keepTime(true)
        .includeVars(false)
        .targetBlank(false),
    );
  }
  b.link(
    new dashboard.DashboardLinkBuilder("GPU monitoring")
      .type(dashboard.DashboardLinkType.Dashboards)
      .tags([STACK_TAG])
      .asDropdown(true)
      .keepTime(true)
      .includeVars(false),
  );
  // Grafana's own "Annotations & Alerts" first, as every dashboard Grafana creates has it.
  b.annotation(
    new dashboard.AnnotationQueryBuilder()
      .name("Annotations & Alerts")
      .type("dashboard")
      .builtIn(1)
      .datasource({ type: "grafana", uid: "-- Grafana --" })
      .enable(true)
      .hide(true)
      .iconColor("rgba(0, 211, 255, 1)"),
  );
  for (const a of def.annotations ?? []) {
    b.annotation(
      new dashboard.AnnotationQueryBuilder()
        .name(a.name)
        .datasource(prometheusRef)
        .enable(true)
        .iconColor(a.color)
        .expr(a.expr)
        .titleFormat(a.title)
        .textFormat(a.text)
        .tagKeys(a.tagKeys.join(","))
        .step("60s")
        .useValueForTime(false),
    );
  }
  const panels = layOut(b, def.sections);
  const model = b.build();
  model.schemaVersion = SCHEMA_VERSION;
  return { def, model, panels };
}
