import { describe, expect, it } from "vitest";
import { unhealthyRules } from "./checks/rules";
import { jobsInConfig, targetProblems } from "./checks/targets";
import { defaultVariableValue, interpolate, referencedVariables } from "./checks/variables";
import type { ActiveTarget } from "../../cli/local/prometheus-api";

/**
 * The live suite's checks are pure functions over Prometheus' answers; these cases pin down that
 * a failure names the job, rule or variable at fault, and that substitution matches Grafana's.
 */
describe("e2e failure messages", () => {
  const target = (job: string, health: ActiveTarget["health"], lastError = ""): ActiveTarget => ({
    scrapePool: job,
    scrapeUrl: `http://127.0.0.1:1/${job}`,
    labels: { job },
    health,
    lastError,
  });

  it("name the job, the target and Prometheus' lastError, and a configured job with no target", () => {
    const problems = targetProblems(
      [target("node-exporter", "up"), target("ds01-exporter", "down", 'Get "http://127.0.0.1:1/metrics": connection refused')],
      ["node-exporter", "ds01-exporter", "dcgm-exporter"],
    );
    expect(problems).toEqual([
      "job dcgm-exporter: no active target",
      'job ds01-exporter: target http://127.0.0.1:1/ds01-exporter is down: Get "http://127.0.0.1:1/metrics": connection refused',
    ]);
    expect(targetProblems([target("node-exporter", "up")], ["node-exporter"])).toEqual([]);
  });

  it("read job names from a rendered prometheus.yml", () => {
    expect(jobsInConfig("scrape_configs:\n  - job_name: prometheus\n  - job_name: node-exporter\n")).toEqual(["prometheus", "node-exporter"]);
  });

  it("name the group, file, rule and error of an unhealthy rule", () => {
    const problems = unhealthyRules([
      {
        name: "ds01",
        file: "/tmp/x/rules/ds01.alerts.yml",
        rules: [
          { name: "DS01GPUWaste", query: "a and b", type: "alerting", health: "err", lastError: "found duplicate series for the match group" },
          { name: "ds01:x", query: "sum(y)", type: "recording", health: "ok" },
        ],
      },
    ]);
    expect(problems).toEqual([
      "group ds01 (/tmp/x/rules/ds01.alerts.yml): alerting rule DS01GPUWaste health=err: found duplicate series for the match group",
    ]);
  });
});

describe("Grafana variable substitution", () => {
  it("replaces $name, ${name}, ${name:format} and [[name]], and fills the built-in intervals", () => {
    const { expr, unresolved } = interpolate('rate(m{user=~"$user", gpu="${gpu}", h="${host:regex}", w="[[w]]"}[$__rate_interval])', {
      user: "(alice)",
      gpu: "3",
      host: ".*",
      w: "w1",
    });
    expect(expr).toBe('rate(m{user=~"(alice)", gpu="3", h=".*", w="w1"}[1m])');
    expect(unresolved).toEqual([]);
  });

  it("reports a variable the dashboard does not define, and leaves label_replace's $1 alone", () => {
    const { expr, unresolved } = interpolate('label_replace(m{x="$nope"}, "a", "$1", "b", "(.+)")', {});
    expect(unresolved).toEqual(["nope"]);
    expect(expr).toContain('"$1"');
    expect(referencedVariables('label_replace(m{x="$nope"}, "a", "$1", "b", "(.+)")')).toEqual(["nope"]);
  });

  it("gives each kind of variable the value a user sees by default", () => {
    expect(defaultVariableValue({ name: "gpu", multi: false, includeAll: true }, ["0", "1"], ".*")?.text).toBe(".*");
    expect(defaultVariableValue({ name: "user", multi: false, includeAll: false }, ["alice", "bob"], ".*")?.text).toBe("alice");
    expect(defaultVariableValue({ name: "slot", multi: true, includeAll: false }, ["2.1", "3"], ".*")?.text).toBe("(2\\\\.1)");
    expect(defaultVariableValue({ name: "user", multi: false, includeAll: false }, [], ".*")).toBeUndefined();
    // "All" without a custom all value is the options themselves; none of them matches no label value.
    expect(defaultVariableValue({ name: "top", multi: true, includeAll: true }, ["w.1", "w2"], undefined)?.text).toBe("(w\\\\.1|w2)");
    expect(defaultVariableValue({ name: "top", multi: true, includeAll: true }, [], undefined)?.text).toBe("()");
  });
});
