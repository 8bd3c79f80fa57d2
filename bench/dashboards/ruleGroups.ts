import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../../cli/local/ports";
import { ManagedProcess } from "../../cli/local/process";
import { findProgram } from "../../cli/local/programs";
import { PrometheusApi } from "../../cli/local/prometheus-api";
import { waitFor } from "../../cli/local/wait";

/**
 * What Prometheus itself reports for each recording rule group on the benchmark's history:
 * `prometheus_rule_group_last_duration_seconds` after a few evaluations. The history ends before
 * now (at the last 2 h boundary before it was built), so this Prometheus looks back far enough to
 * see its last samples (`--query.lookback-delta`); series that ended within that lookback count
 * as alive, so groups over churning entities (DRM workers, containers) read somewhat more than
 * they would live. The recorded samples land after the history's end, where no benchmark query
 * reads.
 */
export interface GroupCost {
  readonly group: string;
  readonly rules: number;
  readonly lastDurationMs: number;
  readonly samples: number;
}

const ROUNDS = 3;

export async function liveRuleGroupCost(dir: string, dataDir: string, historyEnd: number, rulesYaml: string, days: number): Promise<GroupCost[]> {
  const rulesFile = join(dir, "live.rules.yml");
  const config = join(dir, "prometheus-rules.yml");
  await writeFile(rulesFile, rulesYaml);
  await writeFile(config, `global:\n  evaluation_interval: 15s\nrule_files:\n  - ${rulesFile}\nscrape_configs: []\n`);
  const lookback = Math.ceil(Date.now() / 1000 - historyEnd) + 600;
  const port = await freePort();
  const proc = await ManagedProcess.start(
    "prometheus-rules",
    findProgram("prometheus"),
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${dataDir}`,
      `--storage.tsdb.retention.time=${days + 5}d`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--query.lookback-delta=${lookback}s`,
    ],
    { logDir: dir },
  );
  try {
    const api = new PrometheusApi(`http://127.0.0.1:${port}`);
    await waitFor("Prometheus ready", () => api.ready().then((ok) => ok || undefined, () => undefined), { timeoutMs: 300_000, intervalMs: 1_000 });
    // Every group evaluated ROUNDS times (groups run on their own interval, 30 s here).
    await waitFor(
      `${ROUNDS} evaluations of every rule group`,
      async () => {
        const v = await api.vector("min(prometheus_rule_group_iterations_total)");
        return Number(v[0]?.value[1] ?? 0) >= ROUNDS ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 2_000 },
    );
    const by = async (expr: string) => new Map((await api.vector(expr)).map((s) => [String(s.metric["rule_group"]).split(";")[1] ?? "", Number(s.value[1])]));
    const duration = await by("prometheus_rule_group_last_duration_seconds");
    const rules = await by("prometheus_rule_group_rules");
    const samples = await by("prometheus_rule_group_last_evaluation_samples");
    return [...duration].map(([group, s]) => ({ group, rules: rules.get(group) ?? 0, lastDurationMs: s * 1000, samples: samples.get(group) ?? 0 }));
  } finally {
    await proc.stop();
  }
}
