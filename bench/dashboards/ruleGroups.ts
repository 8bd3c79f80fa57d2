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
    // Prometheus' own metrics, read from its /metrics page: this one scrapes nothing, itself included.
    const own = async (name: string): Promise<Map<string, number>> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const out = new Map<string, number>();
      for (const m of text.matchAll(new RegExp(`^${name}\\{rule_group="[^"]*;([^"]+)"\\} (\\S+)$`, "gm"))) out.set(m[1] ?? "", Number(m[2]));
      return out;
    };
    // Every group evaluated ROUNDS times (groups run on their own interval, 30 s here).
    await waitFor(
      `${ROUNDS} evaluations of every rule group`,
      async () => {
        const iterations = [...(await own("prometheus_rule_group_iterations_total")).values()];
        return iterations.length > 0 && Math.min(...iterations) >= ROUNDS ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 2_000 },
    );
    const duration = await own("prometheus_rule_group_last_duration_seconds");
    const rules = await own("prometheus_rule_group_rules");
    const samples = await own("prometheus_rule_group_last_evaluation_samples");
    return [...duration].map(([group, s]) => ({ group, rules: rules.get(group) ?? 0, lastDurationMs: s * 1000, samples: samples.get(group) ?? 0 }));
  } finally {
    await proc.stop();
  }
}
