import { stringify } from "yaml";
import { analyze } from "../metrics/analyze";
import type { AlertingRule, RecordingRule } from "./model";
import { buildRuleSets, renderGroups, runbookUrl, type RenderRuleOptions, type RuleFile } from "./render";

/**
 * Renders the typed test cases next to each rule as a promtool unit-test file
 * (`promtool test rules`). An expected alert's labels are the case's plus the rule's own
 * (severity, family); its annotations are the case's summary and description plus the runbook link.
 */
export function renderPromtoolTests(opts: {
  readonly rules: readonly AlertingRule[];
  /** Rule files, relative to the test file, that the tests load. */
  readonly ruleFiles: readonly string[];
  readonly runbookBaseUrl: string;
  readonly evaluationInterval?: string;
}): string {
  const tests = opts.rules.flatMap((rule) =>
    rule.cases.map((c) => ({
      name: `${rule.alert}: ${c.name}`,
      interval: c.interval ?? "1m",
      input_series: c.input.map((s) => ({ series: s.series, values: s.values })),
      alert_rule_test: [
        {
          eval_time: c.at,
          alertname: rule.alert,
          exp_alerts: c.expect.map((e) => ({
            exp_labels: { ...e.labels, severity: rule.severity, ...(rule.family ? { family: rule.family } : {}) },
            exp_annotations: { summary: e.summary, description: e.description, runbook_url: runbookUrl(opts.runbookBaseUrl, rule.alert) },
          })),
        },
      ],
    })),
  );
  return stringify({ rule_files: [...opts.ruleFiles], evaluation_interval: opts.evaluationInterval ?? "1m", tests }, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** One promtool run: a rule file and the test file that loads it. */
export interface PromtoolSuite {
  readonly alert: string;
  readonly files: readonly RuleFile[];
}

/**
 * One suite per alert: the alert, the recording rules it reads (transitively, in their rendered
 * order) and its cases. promtool evaluates every loaded rule at every step of every case, so
 * loading only what an alert needs keeps hours-long cases cheap; the rules are rendered by the
 * same code as the deployed files.
 */
export function promtoolSuites(opts: RenderRuleOptions, rules?: readonly AlertingRule[]): PromtoolSuite[] {
  const sets = buildRuleSets(opts);
  const recording = sets.flatMap((s) => s.recording.flatMap((g) => g.rules.filter((r): r is RecordingRule => r.kind === "record")));
  const byName = new Map(recording.map((r) => [r.record, r]));
  const alerts = rules ?? sets.flatMap((s) => s.alerting.flatMap((g) => g.rules.filter((r): r is AlertingRule => r.kind === "alert")));
  return alerts.map((rule) => {
    const needed = new Set<string>();
    const visit = (expr: string) => {
      for (const m of analyze(expr).metrics) {
        const dep = byName.get(m);
        if (dep && !needed.has(m)) {
          needed.add(m);
          visit(dep.expr);
        }
      }
    };
    visit(rule.expr);
    const groups = [
      ...(needed.size ? [{ name: "recording", rules: recording.filter((r) => needed.has(r.record)) }] : []),
      { name: "alert", rules: [rule] },
    ];
    return {
      alert: rule.alert,
      files: [
        { fileName: "rules.yml", content: renderGroups(groups, opts.alerting) },
        { fileName: "tests.yml", content: renderPromtoolTests({ rules: [rule], ruleFiles: ["rules.yml"], runbookBaseUrl: opts.alerting.runbookBaseUrl }) },
      ],
    };
  });
}
