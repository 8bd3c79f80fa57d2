import { dashboardVariables, type DashboardVariable } from "../../dashboards";
import { resolveVariables } from "../../test/e2e/checks/dashboards";
import { interpolate } from "../../test/e2e/checks/variables";
import { PrometheusApi, seriesCount } from "../../cli/local/prometheus-api";
import { dataPanels, isRow, parsedDashboards, targetsOf, type ParsedDashboard } from "../../test/dashboards/walk";
import { grafanaTiming } from "./grafana";

/**
 * Every panel query of every dashboard sent as Grafana sends it (variables at their defaults,
 * Grafana's step and built-in intervals for the panel's width and the range), one after another,
 * with each query_result() variable's own query.
 */

/** Prometheus answering queries at the end of the generated history rather than at the wall clock. */
export class HistoryApi extends PrometheusApi {
  constructor(baseUrl: string, private readonly at: number) {
    super(baseUrl);
  }
  override query(expr: string, time?: number) {
    return super.query(expr, time ?? this.at);
  }
}

export interface Measured {
  readonly dashboard: string;
  readonly panel: string;
  readonly expr: string;
  readonly ms: number;
  readonly series: number;
  readonly error?: string;
  /** A variable's query: timed with the load, but its options are no panel's series. */
  readonly variable?: boolean;
  /**
   * Sent when the dashboard opens. Grafana queries a collapsed row's panels only when the row is
   * opened; those are measured too, as if every row were opened one after another.
   */
  readonly onOpen: boolean;
}

/** The dashboards measured: this tree's, or another checkout's (`--baseline`). */
export interface DashboardSource {
  readonly parsedDashboards: () => ParsedDashboard[];
  readonly dashboardVariables: (uid: string) => DashboardVariable[];
}

export const THIS_TREE: DashboardSource = { parsedDashboards: () => parsedDashboards(), dashboardVariables };

/**
 * Another checkout's dashboards (its `test/dashboards/walk.ts` and `dashboards/index.ts`, with its
 * own node_modules), measured by this tree's code, so two versions are timed the same way.
 */
export async function dashboardsOf(checkout: string): Promise<DashboardSource> {
  const walk = (await import(`${checkout}/test/dashboards/walk.ts`)) as { parsedDashboards: () => ParsedDashboard[] };
  const index = (await import(`${checkout}/dashboards/index.ts`)) as { dashboardVariables: (uid: string) => DashboardVariable[] };
  return { parsedDashboards: () => walk.parsedDashboards(), dashboardVariables: (uid) => index.dashboardVariables(uid) };
}

export async function measureRange(api: PrometheusApi, end: number, rangeSeconds: number, log: (s: string) => void = () => {}, source: DashboardSource = THIS_TREE): Promise<Measured[]> {
  const out: Measured[] = [];
  for (const d of source.parsedDashboards()) {
    const uid = d.model.uid ?? d.fileName;
    const variables = source.dashboardVariables(uid);
    const whole = grafanaTiming({ width: 24 }, end, rangeSeconds);
    const vars = await resolveVariables(api, uid, variables, whole.builtins);
    for (const p of vars.problems) log(`  ${p}`);
    const collapsed = new Set((d.model.panels ?? []).flatMap((p) => (isRow(p) ? p.panels : [])));
    const jobs = dataPanels(d.model).flatMap((p) =>
      targetsOf(p).map((t) => ({
        onOpen: !collapsed.has(p),
        panel: p.title ?? "",
        expr: t.expr ?? "",
        instant: t.instant === true && t.range !== true,
        timing: grafanaTiming({ width: p.gridPos?.w ?? 24, ...(p.maxDataPoints ? { maxDataPoints: p.maxDataPoints } : {}), ...(p.interval ? { interval: p.interval } : {}) }, end, rangeSeconds),
        variable: false,
      })),
    );
    // A query_result() variable is one instant query at the range's end, part of every load; a
    // label_values() one goes through the series API and is not timed here.
    for (const v of variables.filter((x) => x.query.startsWith("query_result("))) {
      jobs.push({ panel: `Variable: $${v.name}`, expr: v.expr, instant: true, timing: whole, variable: true, onOpen: true });
    }
    for (const a of d.model.annotations?.list ?? []) {
      const expr = (a as { expr?: string }).expr;
      if (expr) jobs.push({ panel: `Annotation: ${a.name}`, expr, instant: false, timing: grafanaTiming({ width: 24 }, end, rangeSeconds), variable: false, onOpen: true });
    }
    for (const j of jobs) {
      const { expr, unresolved } = interpolate(j.expr, { ...vars.values, ...j.timing.builtins });
      const t0 = performance.now();
      try {
        if (unresolved.length) throw new Error(`unresolved ${unresolved.join(", ")}`);
        const result = j.instant ? await api.query(expr, j.timing.end) : await api.queryRange(expr, j.timing.start, j.timing.end, j.timing.stepSeconds);
        out.push({ dashboard: uid, panel: j.panel, expr, ms: performance.now() - t0, series: seriesCount(result), variable: j.variable, onOpen: j.onOpen });
      } catch (err: unknown) {
        out.push({ dashboard: uid, panel: j.panel, expr, ms: performance.now() - t0, series: 0, error: err instanceof Error ? err.message : String(err), variable: j.variable, onOpen: j.onOpen });
      }
    }
  }
  return out;
}

