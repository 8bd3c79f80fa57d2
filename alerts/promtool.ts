import { stringify } from "yaml";
import type { AlertingRule } from "./model";
import { runbookUrl } from "./render";

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
  return stringify(
    { rule_files: [...opts.ruleFiles], evaluation_interval: opts.evaluationInterval ?? "30s", tests },
    { lineWidth: 0, aliasDuplicateObjects: false },
  );
}
