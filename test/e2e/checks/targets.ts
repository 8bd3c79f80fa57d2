import { parse } from "yaml";
import type { ActiveTarget } from "../../../cli/local/prometheus-api";

/** Job names of a rendered prometheus.yml, in file order. */
export function jobsInConfig(prometheusYml: string): string[] {
  const doc = parse(prometheusYml) as { scrape_configs?: { job_name?: unknown }[] } | null;
  return (doc?.scrape_configs ?? []).map((s) => String(s.job_name));
}

/**
 * What is wrong with the live targets: a configured job with no target, and every target that
 * is not up, with its job, URL and Prometheus' lastError.
 */
export function targetProblems(targets: readonly ActiveTarget[], expectedJobs: readonly string[]): string[] {
  const problems: string[] = [];
  for (const job of expectedJobs) {
    if (!targets.some((t) => t.scrapePool === job)) problems.push(`job ${job}: no active target`);
  }
  for (const t of targets) {
    if (t.health !== "up") {
      problems.push(`job ${t.scrapePool}: target ${t.scrapeUrl} is ${t.health}${t.lastError ? `: ${t.lastError}` : ""}`);
    }
  }
  return problems;
}
