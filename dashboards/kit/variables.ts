import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type { LabelOf, MetricDef } from "../../metrics";
import { sel } from "../../metrics";
import { prometheusRef } from "./datasource";

/** Value a multi-value variable takes for "All": any value, including an absent label. */
export const ALL_VALUE = ".*";

/**
 * A dashboard variable whose options are the values of one label in the result of a PromQL
 * expression. `query` is what Grafana runs; `expr` and `valueLabel` say the same thing in plain
 * PromQL so a test can compute the options from a live Prometheus the way Grafana would.
 */
export interface VariableDef {
  readonly name: string;
  readonly label: string;
  readonly description: string;
  readonly query: string;
  readonly expr: string;
  readonly valueLabel: string;
  readonly multi: boolean;
  readonly includeAll: boolean;
  /**
   * What "All" stands for, where includeAll: any value (ALL_VALUE), or, left out, the options
   * themselves, which Grafana sends as `(a|b|c)`: a variable listing the top k keeps "All" to those k.
   */
  readonly allValue?: string;
  /** Grafana's regex over the query result, for query_result() variables. */
  readonly regex?: string;
}

interface VariableOptions {
  readonly label: string;
  readonly description: string;
  readonly multi?: boolean;
  readonly includeAll?: boolean;
  /** "All" is the options listed, not any value: for a variable that narrows what panels read. */
  readonly allIsOptions?: boolean;
}

function allValueOf(opts: VariableOptions): { allValue?: string } {
  return opts.includeAll && !opts.allIsOptions ? { allValue: ALL_VALUE } : {};
}

/** `label_values(metric, label)`: the options are the label's values on a catalog metric. */
export function labelValuesVariable<M extends MetricDef>(
  name: string,
  metric: M,
  valueLabel: LabelOf<M>,
  opts: VariableOptions,
): VariableDef {
  const expr = sel(metric);
  return {
    name,
    label: opts.label,
    description: opts.description,
    query: `label_values(${expr}, ${valueLabel})`,
    expr,
    valueLabel,
    multi: opts.multi ?? false,
    includeAll: opts.includeAll ?? false,
    ...allValueOf(opts),
  };
}

/**
 * `query_result(expr)` with a regex picking `valueLabel`: for options that no single label holds,
 * e.g. a label that some exporters spell differently and `expr` normalises with label_replace.
 */
export function queryResultVariable(name: string, expr: string, valueLabel: string, opts: VariableOptions): VariableDef {
  return {
    name,
    label: opts.label,
    description: opts.description,
    query: `query_result(${expr})`,
    expr,
    valueLabel,
    regex: `/${valueLabel}="([^"]+)"/`,
    multi: opts.multi ?? false,
    includeAll: opts.includeAll ?? false,
    ...allValueOf(opts),
  };
}

export function variableBuilder(v: VariableDef): dashboard.QueryVariableBuilder {
  const b = new dashboard.QueryVariableBuilder(v.name)
    .label(v.label)
    .description(v.description)
    .datasource(prometheusRef)
    .query(v.query)
    .definition(v.query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.NaturalAsc)
    .multi(v.multi)
    .includeAll(v.includeAll);
  if (v.allValue !== undefined) b.allValue(v.allValue);
  if (v.regex) b.regex(v.regex);
  return b;
}
