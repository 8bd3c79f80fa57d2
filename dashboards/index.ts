import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { renderDashboard, type DashboardDef, type RenderedDashboard } from "./kit/dashboard";
import { refId } from "./kit/panels";
import { defaultThresholds, type Thresholds } from "../metrics/thresholds";
import { dashboardDefinitions, DEFAULT_RETENTION_SIZE_BYTES } from "./registry";

export { DEFAULT_RETENTION_SIZE_BYTES } from "./registry";
export { UID, type DashboardUid } from "./uids";
export { DATASOURCE_VARIABLE, PROVISIONED_PROMETHEUS_UID } from "./kit/datasource";

/** One dashboard as Grafana's file provisioning reads it. */
export interface DashboardFile {
  readonly uid: string;
  readonly title: string;
  /** `<uid>.json` */
  readonly fileName: string;
  /** Pretty-printed dashboard JSON, identical for identical options. */
  readonly json: string;
}

export interface DashboardOptions {
  /** Prometheus' size-based retention limit (its `--storage.tsdb.retention.size`), shown against TSDB size. */
  readonly retentionSizeBytes?: number;
  /** The stack's alert thresholds (defaults where absent): panels colour by the levels the alerts fire at. */
  readonly thresholds?: Thresholds;
}

/** Every query of every panel, for tests that run them against a live Prometheus. */
export interface DashboardQuery {
  readonly dashboardUid: string;
  readonly panelId: number;
  readonly panelTitle: string;
  readonly refId: string;
  /** The expression with Grafana variables still in it (`$user`, `$__rate_interval`). */
  readonly expr: string;
  /**
   * Whether the query returns data on a healthy stack with the dashboard's variables at their
   * defaults (All where a variable offers it, else its first option). False where an empty result
   * is a healthy state (errors, firing alerts) or the source is optional (cAdvisor).
   */
  readonly expectData: boolean;
}

/** A dashboard variable: its options are the distinct values of `label` in the instant result of `expr`. */
export interface DashboardVariable {
  readonly name: string;
  /** What Grafana runs (`label_values(...)` or `query_result(...)`). */
  readonly query: string;
  readonly expr: string;
  readonly label: string;
  readonly multi: boolean;
  readonly includeAll: boolean;
  /** The value "All" stands for, where includeAll; absent, "All" is every option listed. */
  readonly allValue?: string;
}

function renderAll(opts: DashboardOptions = {}): RenderedDashboard[] {
  const defs = dashboardDefinitions({
    retentionSizeBytes: opts.retentionSizeBytes ?? DEFAULT_RETENTION_SIZE_BYTES,
    thresholds: opts.thresholds ?? defaultThresholds(),
  });
  const titles = new Map(defs.map((d) => [d.uid, d.title]));
  const titleOf = (uid: string): string => {
    const title = titles.get(uid);
    if (!title) throw new Error(`link to unknown dashboard ${uid}`);
    return title;
  };
  return defs.map((d) => renderDashboard(d, titleOf));
}

/** The stack's dashboards, ready for Grafana's file provisioning or the `export` command. */
export function buildDashboards(opts: DashboardOptions = {}): DashboardFile[] {
  return renderAll(opts).map((r) => ({
    uid: r.def.uid,
    title: r.def.title,
    fileName: `${r.def.uid}.json`,
    json: `${JSON.stringify(r.model, null, 2)}\n`,
  }));
}

/** The typed dashboard models (the SDK's Dashboard type), for callers that post-process them. */
export function buildDashboardModels(opts: DashboardOptions = {}): dashboard.Dashboard[] {
  return renderAll(opts).map((r) => r.model);
}

/** Panel id given to annotation queries, which belong to the whole dashboard rather than a panel. */
export const ANNOTATION_PANEL_ID = 0;

/** Every panel query of every dashboard, then its annotation queries (panel id 0, "Annotation: <name>"). */
export function dashboardQueries(opts: DashboardOptions = {}): DashboardQuery[] {
  return renderAll(opts).flatMap((r) => [
    ...r.panels.flatMap((p) =>
      p.def.queries.map((q, i) => ({
        dashboardUid: r.def.uid,
        panelId: p.id,
        panelTitle: p.def.title,
        refId: refId(i),
        expr: q.expr,
        expectData: p.def.expectData,
      })),
    ),
    // Events are rare by nature: an annotation with nothing to mark is healthy.
    ...(r.def.annotations ?? []).map((a) => ({
      dashboardUid: r.def.uid,
      panelId: ANNOTATION_PANEL_ID,
      panelTitle: `Annotation: ${a.name}`,
      refId: "annotation",
      expr: a.expr,
      expectData: false,
    })),
  ]);
}

/** The query variables of one dashboard (the datasource variable is not listed: it holds no label values). */
export function dashboardVariables(uid: string): DashboardVariable[] {
  const def = dashboardDefinitions({ retentionSizeBytes: DEFAULT_RETENTION_SIZE_BYTES, thresholds: defaultThresholds() }).find((d: DashboardDef) => d.uid === uid);
  if (!def) throw new Error(`no dashboard with uid ${uid}`);
  return def.variables.map((v) => ({
    name: v.name,
    query: v.query,
    expr: v.expr,
    label: v.valueLabel,
    multi: v.multi,
    includeAll: v.includeAll,
    ...(v.allValue !== undefined ? { allValue: v.allValue } : {}),
  }));
}

/** Grafana's built-in interval variables and the values tests substitute for them. */
export const BUILTIN_VARIABLE_SAMPLES: Readonly<Record<string, string>> = {
  __rate_interval: "1m",
  __interval: "30s",
  __interval_ms: "30000",
  __range: "1h",
  __range_s: "3600",
};

/**
 * Replaces `$name`, `${name}` and `${name:format}` in an expression the way Grafana would for a
 * single selected value, with Grafana's built-in interval variables filled in unless given.
 * Unknown names are left in place, so a test can see that something was not substituted.
 */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>): string {
  const all: Record<string, string> = { ...BUILTIN_VARIABLE_SAMPLES, ...values };
  return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)/g, (match, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? "";
    return Object.prototype.hasOwnProperty.call(all, name) ? (all[name] as string) : match;
  });
}
