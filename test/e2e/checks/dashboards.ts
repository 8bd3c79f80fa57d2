import type { DashboardQuery, DashboardVariable } from "../../../dashboards";
import type { PrometheusApi, QueryResult } from "../../../cli/local/prometheus-api";
import { mapLimit } from "./concurrency";
import { defaultVariableValue, interpolate, type VariableValue } from "./variables";

/** One query of one panel, as the dashboards module lists them. */
export type PanelQuery = Pick<DashboardQuery, "dashboardUid" | "panelTitle" | "expr" | "expectData">;

/** A dashboard variable whose options are the distinct values of `label` in the instant result of `expr`. */
export type QueryVariable = DashboardVariable;

export interface QueryOutcome {
  readonly query: PanelQuery;
  readonly sent: string;
  readonly series: number;
  readonly error?: string;
}

export interface DashboardCheck {
  readonly outcomes: readonly QueryOutcome[];
  readonly problems: readonly string[];
  readonly variables: Readonly<Record<string, readonly VariableValue[]>>;
}

function naturalSort(values: Iterable<string>): string[] {
  return [...values].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

function seriesOf(result: QueryResult): number {
  return result.resultType === "vector" || result.resultType === "matrix" ? result.result.length : 1;
}

/**
 * Options of each variable of one dashboard, computed as Grafana does: run the variable's
 * expression (with the variables before it already substituted) and collect its label's values.
 */
export async function resolveVariables(
  api: PrometheusApi,
  dashboardUid: string,
  variables: readonly QueryVariable[],
  builtins: Readonly<Record<string, string>> = {},
): Promise<{ values: Record<string, string>; described: VariableValue[]; problems: string[] }> {
  const values: Record<string, string> = {};
  const described: VariableValue[] = [];
  const problems: string[] = [];
  for (const v of variables) {
    // A variable refreshed on time-range change sees the range's $__range, as Grafana sends it.
    const { expr, unresolved } = interpolate(v.expr, { ...builtins, ...values });
    if (unresolved.length) {
      problems.push(`${dashboardUid}: variable $${v.name} refers to undefined variable(s) ${unresolved.join(", ")} in ${v.expr}`);
      continue;
    }
    let options: string[];
    try {
      // As Grafana's Prometheus datasource does: label_values() through the label values API
      // with the expression as match[], query_result() as an instant query.
      if (v.query.startsWith("label_values(")) {
        options = naturalSort(new Set((await api.labelValues(v.label, [expr])).filter((x) => x !== "")));
      } else {
        const result = await api.query(expr);
        const labelled = result.resultType === "vector" ? result.result.map((s) => s.metric[v.label]) : [];
        options = naturalSort(new Set(labelled.filter((x): x is string => x !== undefined && x !== "")));
      }
    } catch (err: unknown) {
      problems.push(`${dashboardUid}: variable $${v.name} query failed: ${v.query} (as sent: ${expr}): ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const value = defaultVariableValue(v, options, v.allValue);
    if (!value) {
      problems.push(`${dashboardUid}: variable $${v.name} has no options (no "${v.label}" values for ${v.query})`);
      continue;
    }
    values[v.name] = value.text;
    described.push(value);
  }
  return { values, described, problems };
}

/**
 * Runs every panel query over the last `windowSeconds` as a range query (what Grafana's time
 * series and stat panels send). A query fails if Prometheus rejects it, if it refers to a
 * variable the dashboard does not define, or if its panel expects data and gets no series.
 */
export async function checkDashboardQueries(
  api: PrometheusApi,
  queries: readonly PanelQuery[],
  variablesOf: (dashboardUid: string) => readonly QueryVariable[],
  options: { windowSeconds: number; concurrency: number; builtinsOf?: (dashboardUid: string) => Readonly<Record<string, string>> },
): Promise<DashboardCheck> {
  const problems: string[] = [];
  const valuesByDashboard = new Map<string, Record<string, string>>();
  const variables: Record<string, VariableValue[]> = {};
  for (const uid of new Set(queries.map((q) => q.dashboardUid))) {
    const resolved = await resolveVariables(api, uid, variablesOf(uid), options.builtinsOf?.(uid));
    // Built-ins a dashboard's own time range sets ($__range, $__interval) under its variables.
    valuesByDashboard.set(uid, { ...options.builtinsOf?.(uid), ...resolved.values });
    variables[uid] = resolved.described;
    problems.push(...resolved.problems);
  }
  const end = Math.floor(Date.now() / 1000);
  const start = end - options.windowSeconds;
  const step = Math.max(1, Math.floor(options.windowSeconds / 30));
  const outcomes = await mapLimit(queries, options.concurrency, async (query): Promise<QueryOutcome> => {
    const where = `dashboard ${query.dashboardUid}, panel "${query.panelTitle}"`;
    const { expr, unresolved } = interpolate(query.expr, valuesByDashboard.get(query.dashboardUid) ?? {});
    if (unresolved.length) {
      const error = `undefined variable(s) ${unresolved.join(", ")}`;
      problems.push(`${where}: ${error}: ${query.expr}`);
      return { query, sent: expr, series: 0, error };
    }
    try {
      const series = seriesOf(await api.queryRange(expr, start, end, step));
      if (query.expectData && series === 0) problems.push(`${where}: no series (panel expects data): ${expr}`);
      return { query, sent: expr, series };
    } catch (err: unknown) {
      const error = err instanceof Error ? err.message : String(err);
      problems.push(`${where}: query failed: ${error}: ${expr}`);
      return { query, sent: expr, series: 0, error };
    }
  });
  return { outcomes, problems, variables };
}
