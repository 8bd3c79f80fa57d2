import { NON_PORTABLE_FUNCTIONS, analyze, checkAgainstCatalog } from "../metrics/analyze";
import type { AlertingRule, RuleSet } from "./model";

/**
 * What is wrong with a set of rules, as sentences: an alert without a firing or a silent test
 * case, a name used twice, an expression that does not parse, reads a metric or label the catalog
 * does not declare, or calls a function outside what Prometheus 2.42 and 3.x both have.
 */
export function ruleProblems(sets: readonly RuleSet[]): string[] {
  const problems: string[] = [];
  const names = new Map<string, number>();
  const groups = new Map<string, number>();
  for (const set of sets) {
    for (const g of [...set.recording, ...set.alerting]) {
      groups.set(g.name, (groups.get(g.name) ?? 0) + 1);
      for (const r of g.rules) {
        const name = r.kind === "alert" ? r.alert : r.record;
        if (r.kind === "alert") names.set(name, (names.get(name) ?? 0) + 1);
        for (const p of checkAgainstCatalog(r.expr)) problems.push(`${name}: ${p}`);
        for (const fn of analyze(r.expr).functions) {
          if (NON_PORTABLE_FUNCTIONS.has(fn)) problems.push(`${name}: ${fn}() is not in both Prometheus 2.42 and 3.x`);
        }
        if (r.kind === "alert") problems.push(...caseProblems(r));
      }
    }
  }
  for (const [n, count] of names) if (count > 1) problems.push(`alert ${n} is defined ${count} times`);
  for (const [n, count] of groups) if (count > 1) problems.push(`group ${n} is defined ${count} times`);
  return problems;
}

export function caseProblems(rule: AlertingRule): string[] {
  const firing = rule.cases.filter((c) => c.expect.length > 0).length;
  const silent = rule.cases.length - firing;
  const problems: string[] = [];
  if (firing === 0) problems.push(`${rule.alert}: no test case where it fires`);
  if (rule.alwaysFiring) {
    if (silent > 0) problems.push(`${rule.alert}: always fires, yet has a case where it is silent`);
    if (analyze(rule.expr).metrics.length > 0) problems.push(`${rule.alert}: always fires, yet reads metrics`);
  } else if (silent === 0) {
    problems.push(`${rule.alert}: no test case where it stays silent`);
  }
  return problems;
}
