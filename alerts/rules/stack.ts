import { containerRecordingGroups } from "./container-recording";
import { KUBE_STATE_METRICS_JOB, agg, call, eq, ne, node, nre, range, recorded, sel, stack } from "../../metrics";
import type { RuleContext } from "../context";
import { alert, durationMs, humanized, input, num, record, type AlertingRule, type RuleGroup, type RuleSet } from "../model";

/**
 * The monitoring stack watching itself: a dead man's switch, scrape targets, Prometheus's config
 * and rule evaluation, alert delivery, and TSDB size against the retention size.
 */

/** Jobs DS01's own down alerts (and KubeStateMetricsDown) already cover; TargetDown leaves them out while that set is on. */
function coveredJobs(ctx: RuleContext): string[] {
  const j = ctx.jobs;
  return [
    ...(ctx.ruleSets.ds01 ? [j.exporter, j.nodeExporter, j.cadvisor, j.dcgmExporter, j.grafana, j.alertmanager] : []),
    ...(ctx.ruleSets.kubernetes ? [KUBE_STATE_METRICS_JOB] : []),
  ];
}

export const WATCHDOG_ALERT = "Watchdog";

function watchdog(): AlertingRule {
  const description =
    "This alert always fires, to prove the whole alerting pipeline works. Route it to a dead man's switch service that pages when it stops arriving.";
  return alert({
    alert: WATCHDOG_ALERT,
    expr: "vector(1)",
    severity: "info",
    alwaysFiring: true,
    summary: "Alerting pipeline heartbeat",
    description,
    condition: "always",
    cases: [
      { name: "fires with no input at all", input: [], at: "1m", expect: [{ labels: {}, summary: "Alerting pipeline heartbeat", description }] },
      { name: "still fires hours later", input: [], at: "3h", expect: [{ labels: {}, summary: "Alerting pipeline heartbeat", description }] },
    ],
  });
}

function targetDown(ctx: RuleContext): AlertingRule {
  const covered = coveredJobs(ctx);
  const up = covered.length ? sel(stack.up, { job: nre(covered.join("|")) }) : sel(stack.up);
  const target = { job: "gpu-hosts", instance: "gpu-node-2:9100" };
  const summary = "Target {{ $labels.instance }} of job {{ $labels.job }} is down";
  const description = "Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for 5 minutes.";
  return alert({
    alert: "TargetDown",
    expr: `${up} == 0`,
    for: "5m",
    severity: "warning",
    summary,
    description,
    condition: covered.length ? "a scrape target of any job but those DS01's down alerts cover fails its scrapes" : "a scrape target fails its scrapes",
    cases: [
      {
        name: "a failing target fires",
        input: [input(stack.up, target, "0x10")],
        at: "8m",
        expect: [
          {
            labels: target,
            summary: "Target gpu-node-2:9100 of job gpu-hosts is down",
            description: "Prometheus has failed to scrape gpu-node-2:9100 (job gpu-hosts) for 5 minutes.",
          },
        ],
      },
      { name: "a healthy target stays quiet", input: [input(stack.up, target, "1x10")], at: "8m", expect: [] },
      ...(covered[0]
        ? [{ name: "a job DS01's own alert covers stays quiet here", input: [input(stack.up, { job: covered[0], instance: "x:1" }, "0x10")], at: "8m", expect: [] }]
        : []),
    ],
  });
}

function prometheusAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.stack;
  const w = t.rateWindow;
  const self = { instance: "localhost:9090", job: ctx.jobs.prometheus };
  const rules: AlertingRule[] = [
    alert({
      alert: "PrometheusConfigReloadFailed",
      expr: `${sel(stack.prometheus_config_last_reload_successful)} == 0`,
      for: "10m",
      severity: "warning",
      summary: "Prometheus configuration reload failed",
      description: "{{ $labels.instance }} could not load its new configuration and still runs the previous one.",
      condition: "the last configuration reload failed",
      cases: [
        {
          name: "a failed reload fires",
          input: [input(stack.prometheus_config_last_reload_successful, self, "1x2 0x15")],
          at: "15m",
          expect: [{ labels: self, summary: "Prometheus configuration reload failed", description: "localhost:9090 could not load its new configuration and still runs the previous one." }],
        },
        { name: "a good reload stays quiet", input: [input(stack.prometheus_config_last_reload_successful, self, "1x20")], at: "15m", expect: [] },
      ],
    }),
    alert({
      alert: "PrometheusRuleEvaluationFailures",
      expr: `${call("increase", range(stack.prometheus_rule_evaluation_failures_total, w))} > 0`,
      for: "5m",
      severity: "warning",
      summary: "Prometheus rule evaluations are failing",
      description: `Rules of group {{ $labels.rule_group }} failed {{ $value | printf "%.0f" }} times in ${w}; their series and alerts are missing.`,
      condition: "rule evaluation failures in the rate window",
      thresholds: { "stack.rateWindow": w },
      cases: [
        {
          name: "failing evaluations fire",
          input: [input(stack.prometheus_rule_evaluation_failures_total, { ...self, rule_group: "/etc/prometheus/rules/ds01.alerts.yml;ds01_gpu_alerts" }, "0+2x20")],
          at: "15m",
          expect: [
            {
              labels: { ...self, rule_group: "/etc/prometheus/rules/ds01.alerts.yml;ds01_gpu_alerts" },
              summary: "Prometheus rule evaluations are failing",
              description: `Rules of group /etc/prometheus/rules/ds01.alerts.yml;ds01_gpu_alerts failed ${((2 * durationMs(w)) / 60_000).toFixed(0)} times in ${w}; their series and alerts are missing.`,
            },
          ],
        },
        {
          name: "an old failure count that no longer grows stays quiet",
          input: [input(stack.prometheus_rule_evaluation_failures_total, { ...self, rule_group: "g" }, "7x20")],
          at: "15m",
          expect: [],
        },
      ],
    }),
    alert({
      alert: "PrometheusNotificationsDropped",
      expr: `${call("increase", range(stack.prometheus_notifications_dropped_total, w))} > 0`,
      for: "5m",
      severity: "warning",
      summary: "Prometheus is dropping alerts",
      description: `{{ $labels.instance }} dropped alerts it could not send to Alertmanager in the last ${w}.`,
      condition: "alerts dropped on the way to Alertmanager in the rate window",
      thresholds: { "stack.rateWindow": w },
      cases: [
        {
          name: "dropped alerts fire",
          input: [input(stack.prometheus_notifications_dropped_total, self, "0+1x20")],
          at: "15m",
          expect: [{ labels: self, summary: "Prometheus is dropping alerts", description: `localhost:9090 dropped alerts it could not send to Alertmanager in the last ${w}.` }],
        },
        { name: "nothing dropped stays quiet", input: [input(stack.prometheus_notifications_dropped_total, self, "0x20")], at: "15m", expect: [] },
      ],
    }),
  ];
  if (ctx.retentionBytes !== undefined) {
    const limit = ctx.retentionBytes;
    const share = t.tsdbSizeSharePercent / 100;
    const size = (bytes: number) => [
      input(stack.prometheus_tsdb_storage_blocks_bytes, self, `${num(Math.round(bytes * 0.9))}x60`),
      input(stack.prometheus_tsdb_wal_storage_size_bytes, self, `${num(Math.round(bytes * 0.1))}x60`),
    ];
    const nearShare = (share + 1) / 2;
    rules.push(
      alert({
        alert: "PrometheusTSDBNearRetentionSize",
        expr: `(${sel(stack.prometheus_tsdb_storage_blocks_bytes)} + ${sel(stack.prometheus_tsdb_wal_storage_size_bytes)}) / ${num(limit)} > ${num(share)}`,
        for: "30m",
        severity: "warning",
        summary: "Prometheus storage near its retention size",
        description:
          "{{ $labels.instance }} stores {{ $value | humanizePercentage }} of its retention size; beyond it the oldest data is deleted before the retention time is up.",
        condition: "TSDB blocks and WAL above a share of the configured retention size",
        thresholds: { "stack.tsdbSizeSharePercent": t.tsdbSizeSharePercent, "retention.size (bytes)": limit },
        cases: [
          {
            name: "storage near the limit fires",
            input: size(limit * nearShare),
            at: "45m",
            expect: [
              {
                labels: self,
                summary: "Prometheus storage near its retention size",
                description: `localhost:9090 stores ${humanized(nearShare * 100)}% of its retention size; beyond it the oldest data is deleted before the retention time is up.`,
              },
            ],
          },
          { name: "half the limit stays quiet", input: size(limit * share * 0.5), at: "45m", expect: [] },
        ],
      }),
    );
  }
  return rules;
}

function alertmanagerAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.stack;
  const w = t.rateWindow;
  const am = { instance: "alertmanager:9093", job: ctx.jobs.alertmanager };
  const by = ["instance", "job", "integration"];
  const attempts = (integration: string, perMinute: number, failedPerMinute: number) => [
    input(stack.alertmanager_notifications_total, { ...am, integration }, `0+${num(perMinute)}x30`),
    input(stack.alertmanager_notifications_failed_total, { ...am, integration, reason: "other" }, `0+${num(failedPerMinute)}x30`),
  ];
  const failing = Math.min(100, t.notificationFailurePercent * 2 + 10);
  return [
    alert({
      alert: "AlertmanagerNotificationsFailing",
      expr: `${agg("sum", call("rate", range(stack.alertmanager_notifications_failed_total, w)), by)} / ${agg("sum", call("rate", range(stack.alertmanager_notifications_total, w)), by)} * 100 > ${num(t.notificationFailurePercent)}`,
      for: "5m",
      severity: "critical",
      summary: "Alertmanager cannot deliver {{ $labels.integration }} notifications",
      description: `{{ $value | printf "%.0f" }}% of {{ $labels.integration }} notifications from {{ $labels.instance }} failed over ${w}; alerts are not reaching people.`,
      condition: "share of failed notification attempts per integration above the limit",
      thresholds: { "stack.notificationFailurePercent": t.notificationFailurePercent, "stack.rateWindow": w },
      cases: [
        {
          name: "mostly failing deliveries fire",
          input: attempts("email", 10, failing / 10),
          at: "20m",
          expect: [
            {
              labels: { ...am, integration: "email" },
              summary: "Alertmanager cannot deliver email notifications",
              description: `${failing.toFixed(0)}% of email notifications from alertmanager:9093 failed over ${w}; alerts are not reaching people.`,
            },
          ],
        },
        { name: "rare failures stay quiet", input: attempts("webhook", 10, t.notificationFailurePercent / 20), at: "20m", expect: [] },
      ],
    }),
    alert({
      alert: "AlertmanagerConfigReloadFailed",
      expr: `${sel(stack.alertmanager_config_last_reload_successful)} == 0`,
      for: "10m",
      severity: "warning",
      summary: "Alertmanager configuration reload failed",
      description: "{{ $labels.instance }} could not load its new configuration and still runs the previous one.",
      condition: "the last configuration reload failed",
      cases: [
        {
          name: "a failed reload fires",
          input: [input(stack.alertmanager_config_last_reload_successful, am, "0x20")],
          at: "15m",
          expect: [{ labels: am, summary: "Alertmanager configuration reload failed", description: "alertmanager:9093 could not load its new configuration and still runs the previous one." }],
        },
        { name: "a good reload stays quiet", input: [input(stack.alertmanager_config_last_reload_successful, am, "1x20")], at: "15m", expect: [] },
      ],
    }),
  ];
}

/**
 * Host CPU per mode, recorded once per host: the host dashboard's CPU panels would otherwise rate
 * every core's every mode (1,024 series on a 128-core host) for each step of every load.
 */
export function hostCpuRecordingGroups(): RuleGroup[] {
  const cpu = node.node_cpu_seconds_total;
  const cores = recorded["instance:node_cpus:count"].name;
  return [
    {
      name: "host_cpu",
      rules: [
        record(cores, agg("count", sel(cpu, { mode: eq("idle") }), ["instance"])),
        record(
          recorded["instance_mode:node_cpu_busy_percent:rate5m"].name,
          `100 * ${agg("sum", call("rate", range(cpu, "5m", { mode: ne("idle") })), ["instance", "mode"])} / on(instance) group_left() ${cores}`,
        ),
      ],
    },
  ];
}

export function stackRuleSet(ctx: RuleContext): RuleSet {
  return {
    id: "stack",
    title: "Stack self-monitoring",
    recording: [...hostCpuRecordingGroups(), ...(ctx.cadvisor === false ? [] : containerRecordingGroups())],
    alerting: [
      { name: "stack_meta", interval: "30s", rules: [watchdog()] },
      { name: "stack_targets", interval: "30s", rules: [targetDown(ctx)] },
      { name: "stack_prometheus", interval: "30s", rules: prometheusAlerts(ctx) },
      { name: "stack_alertmanager", interval: "30s", rules: alertmanagerAlerts(ctx) },
    ],
  };
}
