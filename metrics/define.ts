/**
 * The shape of one catalog entry. Every metric the stack touches is declared once with this,
 * and the exporter, dashboards and rules all read the same declaration.
 */
export type MetricType = "gauge" | "counter" | "histogram" | "summary" | "info";

/** Where a series comes from; `recording` series are produced by our own recording rules. */
export type MetricSource =
  | "dcgm"
  | "node"
  | "cadvisor"
  | "ds01"
  | "drm"
  | "slurm"
  | "kube-state-metrics"
  | "exporter"
  | "prometheus"
  | "alertmanager"
  | "grafana"
  | "recording";

/** Labels Prometheus attaches to every scraped series; always allowed in a selector. */
export const TARGET_LABELS = ["job", "instance"] as const;
export type TargetLabel = (typeof TARGET_LABELS)[number];

export interface MetricDef<N extends string = string, L extends string = string> {
  readonly name: N;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly L[];
  readonly source: MetricSource;
  /** Grafana unit id for panels that show this metric unchanged (e.g. "percent", "celsius"). */
  readonly unit?: string;
  /**
   * Names kept for compatibility with existing dashboards even where they break a Prometheus
   * naming convention (e.g. a counter-like gauge named `*_total`); `promtool check metrics`
   * findings on these are expected.
   */
  readonly legacyName?: boolean;
}

/** Declares a metric; the generic parameters keep the name and label names as literal types. */
export function metric<const N extends string, const L extends string = never>(def: {
  name: N;
  type: MetricType;
  help: string;
  labels?: readonly L[];
  source: MetricSource;
  unit?: string;
  legacyName?: boolean;
}): MetricDef<N, L> {
  return { ...def, labels: def.labels ?? [] };
}

/** Label names a selector on metric M may use. */
export type LabelOf<M> = M extends MetricDef<string, infer L> ? L | TargetLabel : never;
