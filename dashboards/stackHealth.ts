import { agg, call, range, re, sel, stack } from "../metrics";
import type { PanelLevels } from "../metrics/thresholds";
import type { DashboardDef } from "./kit/dashboard";
import { orZero } from "./kit/expr";
import {
  ANY_BAD,
  gaugePanel,
  GREEN,
  NEUTRAL,
  ORANGE,
  RED,
  RELOAD_MAPPINGS,
  rising,
  stateTimelinePanel,
  statPanel,
  tablePanel,
  timeseriesPanel,
  UP_DOWN_MAPPINGS,
  ZERO_BAD,
} from "./kit/panels";
import { labelValuesVariable } from "./kit/variables";
import { UID } from "./uids";

const JOB = { job: re("$job") };

export function stackHealth(retentionSizeBytes: number, levels: PanelLevels): DashboardDef {
  const tsdb = levels.tsdbSizePercent;
  if (!(retentionSizeBytes > 0)) throw new Error(`retentionSizeBytes must be positive, got ${retentionSizeBytes}`);
  // Prometheus counts persisted blocks plus the WAL against --storage.tsdb.retention.size. Only
  // newer releases report the WAL's size, so it is added where present (2.42 has blocks only).
  const tsdbBytes = `${agg("sum", sel(stack.prometheus_tsdb_storage_blocks_bytes))} + ${orZero(
    agg("sum", sel(stack.prometheus_tsdb_wal_storage_size_bytes)),
  )}`;
  const sizeSteps = [
    [GREEN, null],
    [ORANGE, Math.round((retentionSizeBytes * tsdb.warn) / 100)],
    [RED, Math.round((retentionSizeBytes * tsdb.crit) / 100)],
  ] as const;
  return {
    uid: UID.stackHealth,
    title: "Stack health",
    description:
      "Can the monitoring itself be trusted? Targets up per job, scrape durations, rule evaluation failures, " +
      "Alertmanager notifications sent and failed, and Prometheus' storage against its size limit.",
    tags: ["stack", "prometheus", "alertmanager"],
    related: [UID.host, UID.ds01Overview, UID.drm, UID.hpcSlurm],
    annotations: [
      {
        name: "Firing alerts",
        description: "While an alert fires, marked on every graph with its severity.",
        expr: sel(stack.ALERTS, { alertstate: "firing" }),
        title: "{{alertname}}",
        text: "{{severity}}",
        tagKeys: ["alertname", "severity"],
        color: "red",
      },
    ],
    variables: [
      labelValuesVariable("job", stack.up, "job", {
        label: "Job",
        description: "Scrape jobs to show.",
        multi: true,
        includeAll: true,
      }),
    ],
    sections: [
      {
        title: "Targets",
        collapsed: false,
        panels: [
          statPanel({
            title: "Targets up",
            description: "Targets whose last scrape succeeded.",
            queries: [{ expr: orZero(agg("sum", sel(stack.up, JOB))), instant: true }],
            thresholds: NEUTRAL,
          }),
          statPanel({
            title: "Targets down",
            description: "Targets whose last scrape failed.",
            queries: [{ expr: orZero(agg("count", `${sel(stack.up, JOB)} == 0`)), instant: true }],
            thresholds: [
              [GREEN, null],
              [RED, 1],
            ],
          }),
          statPanel({
            title: "Prometheus config",
            description: "Whether Prometheus' last configuration reload succeeded.",
            queries: [{ expr: agg("min", sel(stack.prometheus_config_last_reload_successful)), instant: true }],
            mappings: RELOAD_MAPPINGS,
            thresholds: ZERO_BAD,
          }),
          statPanel({
            title: "Alertmanager config",
            description: "Whether Alertmanager's last configuration reload succeeded.",
            queries: [{ expr: agg("min", sel(stack.alertmanager_config_last_reload_successful)), instant: true }],
            mappings: RELOAD_MAPPINGS,
            thresholds: ZERO_BAD,
          }),
          statPanel({
            title: "Alerts firing",
            description: "Alerts Prometheus holds as firing (the Watchdog always fires while the pipeline works).",
            queries: [{ expr: orZero(agg("count", sel(stack.ALERTS, { alertstate: "firing" }))), instant: true }],
            thresholds: NEUTRAL,
          }),
          statPanel({
            title: "Head series",
            description: "Series in Prometheus' head block: the stack's own cost.",
            queries: [{ expr: agg("sum", sel(stack.prometheus_tsdb_head_series)), instant: true }],
            thresholds: NEUTRAL,
            sparkline: true,
          }),
          stateTimelinePanel({
            title: "Targets up per job",
            description: "1 when every target of the job was up, 0 when any was down.",
            queries: [{ expr: agg("min", sel(stack.up, JOB), ["job"]), legend: "{{job}}" }],
            mappings: UP_DOWN_MAPPINGS,
            thresholds: ZERO_BAD,
            width: 14,
          }),
          tablePanel({
            title: "Targets",
            description: "Each scrape target and whether it is up.",
            queries: [{ expr: sel(stack.up, JOB), table: true }],
            renameColumns: { job: "Job", instance: "Target", Value: "Up" },
            valueColumn: "Up",
            mappings: UP_DOWN_MAPPINGS,
            thresholds: ZERO_BAD,
            width: 10,
          }),
        ],
      },
      {
        title: "Scrapes",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Scrape duration",
            description: "Slowest target's last scrape per job; near the scrape timeout samples start to go missing.",
            queries: [{ expr: agg("max", sel(stack.scrape_duration_seconds, JOB), ["job"]), legend: "{{job}}" }],
            unit: "s",
            thresholds: rising(levels.fixed.scrapeDurationSeconds.warn, levels.fixed.scrapeDurationSeconds.crit),
          }),
          timeseriesPanel({
            title: "Samples per scrape",
            description: "Samples each job exposes per scrape; a jump means new series (label churn).",
            queries: [{ expr: agg("sum", sel(stack.scrape_samples_scraped, JOB), ["job"]), legend: "{{job}}" }],
            unit: "short",
          }),
        ],
      },
      {
        title: "Rules",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Rule evaluation failures",
            description: "Failed rule evaluations per group in each interval; anything above 0 means a rule is broken.",
            queries: [
              {
                expr: agg("sum", call("increase", range(stack.prometheus_rule_evaluation_failures_total, "$__rate_interval")), ["rule_group"]),
                legend: "{{rule_group}}",
              },
            ],
            unit: "short",
            thresholds: ANY_BAD,
            thresholdLines: true,
          }),
          timeseriesPanel({
            title: "Rule group evaluation time",
            description: "Last evaluation time per rule group; close to the group's interval it falls behind.",
            queries: [
              { expr: agg("max", sel(stack.prometheus_rule_group_last_duration_seconds), ["rule_group"]), legend: "{{rule_group}}" },
            ],
            unit: "s",
          }),
          tablePanel({
            title: "Firing alerts",
            description: "Alerts firing now, with their severity.",
            queries: [{ expr: sel(stack.ALERTS, { alertstate: "firing" }), table: true }],
            hideColumns: ["Value", "alertstate"],
            renameColumns: { alertname: "Alert", severity: "Severity" },
            expectData: false,
            width: 24,
          }),
        ],
      },
      {
        title: "Alertmanager",
        collapsed: false,
        panels: [
          timeseriesPanel({
            title: "Notifications sent",
            description: "Notifications attempted per second, by integration (email, Slack, webhook).",
            queries: [
              {
                expr: agg("sum", call("rate", range(stack.alertmanager_notifications_total, "$__rate_interval")), ["integration"]),
                legend: "{{integration}}",
              },
            ],
            unit: "short",
            width: 8,
          }),
          timeseriesPanel({
            title: "Notifications failed",
            description: "Failed notifications per second, by integration; any failure means alerts are not reaching people.",
            queries: [
              {
                expr: agg("sum", call("rate", range(stack.alertmanager_notifications_failed_total, "$__rate_interval")), ["integration"]),
                legend: "{{integration}}",
              },
            ],
            unit: "short",
            thresholds: [
              [GREEN, null],
              [RED, 0.0001],
            ],
            width: 8,
          }),
          timeseriesPanel({
            title: "Alerts in Alertmanager",
            description: "Alerts Alertmanager holds, active or suppressed; and alerts Prometheus failed to send to it.",
            queries: [
              { expr: agg("sum", sel(stack.alertmanager_alerts), ["state"]), legend: "{{state}}" },
              {
                expr: agg("sum", call("rate", range(stack.prometheus_notifications_dropped_total, "$__rate_interval"))),
                legend: "dropped by Prometheus",
              },
            ],
            unit: "short",
            width: 8,
          }),
        ],
      },
      {
        title: "Storage",
        collapsed: false,
        panels: [
          gaugePanel({
            title: "TSDB size against limit",
            description: `Blocks (plus the WAL where Prometheus reports it) against the retention size limit (${formatBytes(retentionSizeBytes)}); at the limit Prometheus deletes the oldest blocks.`,
            queries: [{ expr: tsdbBytes, instant: true }],
            unit: "bytes",
            min: 0,
            max: retentionSizeBytes,
            thresholds: sizeSteps,
            width: 6,
            height: 8,
          }),
          statPanel({
            title: "TSDB use of limit",
            description: "TSDB size as a share of the retention size limit.",
            queries: [{ expr: `100 * (${tsdbBytes}) / ${retentionSizeBytes}`, instant: true }],
            unit: "percent",
            decimals: 1,
            thresholds: rising(tsdb.warn, tsdb.crit),
            width: 6,
            height: 8,
          }),
          timeseriesPanel({
            title: "TSDB size",
            description: "Storage counted against the limit (blocks, plus the WAL where Prometheus reports it) and blocks alone; dashed lines at 80% and 90% of the limit.",
            queries: [
              { expr: tsdbBytes, legend: "counted against the limit" },
              { expr: agg("sum", sel(stack.prometheus_tsdb_storage_blocks_bytes)), legend: "blocks" },
            ],
            unit: "bytes",
            thresholds: sizeSteps,
            thresholdLines: true,
          }),
        ],
      },
    ],
  };
}

/** "20 GiB" for the description; Prometheus' own GB in retention.size is 2^30 bytes. */
function formatBytes(bytes: number): string {
  const gib = bytes / 2 ** 30;
  return Number.isInteger(gib) ? `${gib} GiB` : `${bytes} bytes`;
}
