import type { PrometheusApi, RuleGroupState } from "../../../cli/local/prometheus-api";
import { mapLimit } from "./concurrency";

/** Rule groups or rules Prometheus reports as unhealthy, each naming group, file and rule. */
export function unhealthyRules(groups: readonly RuleGroupState[]): string[] {
  const problems: string[] = [];
  for (const g of groups) {
    for (const r of g.rules) {
      if (r.health !== "ok") {
        problems.push(`group ${g.name} (${g.file}): ${r.type} rule ${r.name} health=${r.health}${r.lastError ? `: ${r.lastError}` : ""}`);
      }
    }
  }
  return problems;
}

/** Recording rules whose output series do not exist; names the group, the record and its expr. */
export async function recordingRulesWithoutSeries(api: PrometheusApi, groups: readonly RuleGroupState[]): Promise<string[]> {
  const recording = groups.flatMap((g) => g.rules.filter((r) => r.type === "recording").map((r) => ({ group: g.name, rule: r })));
  const found = await mapLimit(recording, 4, async ({ rule }) => {
    const labels = Object.entries(rule.labels ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    const selector = `${rule.name}{${labels.join(",")}}`;
    return (await api.vector(`count(${selector})`)).length > 0;
  });
  return recording.filter((_, i) => !found[i]).map(({ group, rule }) => `group ${group}: recording rule ${rule.name} has no series: ${rule.query}`);
}

/**
 * Rule groups with failed evaluations since Prometheus started (its own counter), so a rule
 * that broke for a moment — while a target was down, say — is caught even once it recovered.
 */
export async function failedEvaluations(api: PrometheusApi): Promise<string[]> {
  const samples = await api.vector("sum by (rule_group) (prometheus_rule_evaluation_failures_total) > 0");
  return samples.map((s) => `group ${s.metric["rule_group"] ?? "?"}: ${s.value[1]} failed evaluations`);
}
