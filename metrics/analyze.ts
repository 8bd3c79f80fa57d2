import { parser } from "@prometheus-io/lezer-promql";
import { TARGET_LABELS, type MetricDef } from "./define";
import { lookupMetric } from "./index";

/** What one PromQL expression uses, read from its syntax tree. */
export interface ExprUsage {
  readonly errors: readonly string[];
  /** Metric names in vector/matrix selectors. */
  readonly metrics: readonly string[];
  /** Label names used in selector matchers, per metric. */
  readonly matcherLabels: ReadonlyMap<string, readonly string[]>;
  /** Label names in by/without/on/ignoring/group_left/group_right. */
  readonly groupingLabels: readonly string[];
  /** Labels created by label_replace/label_join (their destination argument). */
  readonly createdLabels: readonly string[];
  readonly functions: readonly string[];
}

function unquote(s: string): string {
  if (s.startsWith("`")) return s.slice(1, -1);
  return JSON.parse(s.startsWith("'") ? `"${s.slice(1, -1).replace(/"/g, '\\"')}"` : s) as string;
}

/** Parses an expression and reports what it uses; syntax errors come back in `errors`. */
export function analyze(expr: string): ExprUsage {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const metrics: string[] = [];
  const matcherLabels = new Map<string, string[]>();
  const grouping: string[] = [];
  const created: string[] = [];
  const functions: string[] = [];
  const text = (n: { from: number; to: number }) => expr.slice(n.from, n.to);

  tree.iterate({
    enter: (ref) => {
      if (ref.type.isError) {
        errors.push(`syntax error at ${ref.from}: ${JSON.stringify(expr.slice(Math.max(0, ref.from - 20), ref.to + 20))}`);
        return;
      }
      const node = ref.node;
      switch (ref.name) {
        case "VectorSelector": {
          const ident = node.getChild("Identifier");
          let name = ident ? text(ident) : "";
          const labels: string[] = [];
          const matchers = node.getChild("LabelMatchers");
          for (const m of matchers ? [...matchers.getChildren("UnquotedLabelMatcher"), ...matchers.getChildren("QuotedLabelMatcher")] : []) {
            const ln = m.getChild("LabelName") ?? m.getChild("QuotedLabelName");
            if (!ln) continue;
            const label = ln.name === "QuotedLabelName" ? unquote(text(ln)) : text(ln);
            const value = m.getChild("StringLiteral");
            if (label === "__name__" && value) name = unquote(text(value));
            else labels.push(label);
          }
          // A matcher-only selector ({__name__=...}) has the name inside LabelMatchers.
          if (!ident) {
            for (const qm of matchers?.getChildren("QuotedLabelMatcher") ?? []) {
              const q = qm.getChild("QuotedLabelName");
              if (q && !qm.getChild("MatchOp")) name = unquote(text(q));
            }
          }
          if (name) {
            metrics.push(name);
            matcherLabels.set(name, [...(matcherLabels.get(name) ?? []), ...labels]);
          }
          return;
        }
        case "GroupingLabels":
          for (const ln of [...node.getChildren("LabelName"), ...node.getChildren("QuotedLabelName")]) {
            grouping.push(ln.name === "QuotedLabelName" ? unquote(text(ln)) : text(ln));
          }
          return;
        case "FunctionCall": {
          const fnIdent = node.getChild("FunctionIdentifier");
          const fn = fnIdent ? text(fnIdent) : "";
          functions.push(fn);
          if (fn === "label_replace" || fn === "label_join") {
            const body = node.getChild("FunctionCallBody");
            const strings = body?.getChildren("StringLiteral") ?? [];
            if (strings[0]) created.push(unquote(text(strings[0])));
            if (fn === "label_replace" && strings[2]) grouping.push(unquote(text(strings[2])));
          }
          return;
        }
        default:
          return;
      }
    },
  });

  return { errors, metrics, matcherLabels, groupingLabels: grouping, createdLabels: created, functions };
}

/**
 * Problems with an expression against the metric catalog: syntax errors, metrics the catalog
 * does not declare, and label names no metric in the expression has.
 * `extraLabels` are labels added outside the metric's own (external labels, relabelling).
 */
export function checkAgainstCatalog(expr: string, extraLabels: readonly string[] = []): string[] {
  const usage = analyze(expr);
  const problems = [...usage.errors];
  const defs: MetricDef[] = [];
  for (const name of new Set(usage.metrics)) {
    const def = lookupMetric(name);
    if (!def) problems.push(`metric ${name} is not in the catalog`);
    else defs.push(def);
  }
  const base = new Set<string>([...TARGET_LABELS, ...extraLabels]);
  for (const [name, labels] of usage.matcherLabels) {
    const def = lookupMetric(name);
    if (!def) continue;
    for (const l of labels) {
      if (!base.has(l) && !def.labels.includes(l)) problems.push(`label ${l} is not a label of ${name}`);
    }
  }
  const known = new Set<string>([...base, ...usage.createdLabels, ...defs.flatMap((d) => d.labels)]);
  for (const l of usage.groupingLabels) {
    if (!known.has(l)) problems.push(`grouping label ${l} is not a label of any metric in the expression`);
  }
  return problems;
}

/** Functions missing from Prometheus 2.42 or removed in 3.x: rendered rules must avoid them. */
export const NON_PORTABLE_FUNCTIONS = new Set([
  "holt_winters",
  "double_exponential_smoothing",
  "mad_over_time",
  "sort_by_label",
  "sort_by_label_desc",
  "limitk",
  "limit_ratio",
  "info",
  "ts_of_max_over_time",
  "ts_of_min_over_time",
  "ts_of_last_over_time",
  "histogram_avg",
  "histogram_stddev",
  "histogram_stdvar",
]);

/** Functions and aggregations whose result is in the unit of their argument. */
const UNIT_PRESERVING = new Set([
  "sum", "avg", "min", "max", "topk", "bottomk", "quantile",
  "abs", "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "sort", "sort_desc", "label_replace", "label_join",
  "avg_over_time", "min_over_time", "max_over_time", "last_over_time", "quantile_over_time", "histogram_quantile",
]);

/**
 * The catalog unit of an expression's values: the unit of its one metric when everything around
 * that metric keeps the unit (avg, max_over_time, ...), undefined otherwise (rate, count, arithmetic,
 * two metrics), so a number is never shown in a unit it is not in.
 */
export function unitOf(expr: string): string | undefined {
  const usage = analyze(expr);
  const names = [...new Set(usage.metrics)];
  if (usage.errors.length > 0 || names.length !== 1) return undefined;
  let keeps = true;
  parser.parse(expr).iterate({
    enter: (ref) => {
      if (ref.name === "BinaryExpr") keeps = false;
      if (ref.name === "AggregateOp" && !UNIT_PRESERVING.has(expr.slice(ref.from, ref.to).toLowerCase())) keeps = false;
      if (ref.name === "FunctionIdentifier" && !UNIT_PRESERVING.has(expr.slice(ref.from, ref.to))) keeps = false;
    },
  });
  return keeps ? lookupMetric(names[0] ?? "")?.unit : undefined;
}
