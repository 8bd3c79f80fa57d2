import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALERTMANAGER_SECRETS_DIR, WATCHDOG_DISCARD_RECEIVER, renderAlertmanagerConfig } from "../../alerts/alertmanager";
import { SEVERITIES, alertingSchema, thresholdsSchema, type AlertingConfig } from "../../alerts/config";
import { listAlertRules } from "../../alerts/render";
import { freeLoopbackPort, runTool, withFiles } from "./tools";

const full = alertingSchema.parse({
  receivers: [
    {
      name: "ops-email",
      type: "email",
      to: ["gpu-ops@example.org", "oncall@example.org"],
      from: "alertmanager@example.org",
      smarthost: "smtp.example.org:587",
      authUsername: "alertmanager",
      authPasswordSecret: "smtpPassword",
      tlsServerName: "smtp.example.org",
    },
    { name: "ops-slack", type: "slack", webhookUrlSecret: "slackWebhookUrl", channel: "#gpu-alerts" },
    { name: "deadman", type: "webhook", url: "https://deadman.example.org/ping/abc", bearerTokenSecret: "deadmanToken" },
    { name: "digest", type: "webhook", url: "http://127.0.0.1:9999/alerts" },
    { name: "quiet", type: "none" },
  ],
  routing: {
    defaultReceiver: "ops-slack",
    critical: { receiver: "ops-email" },
    warning: { receiver: "ops-slack", repeatInterval: "6h" },
    info: { receiver: "digest" },
    watchdog: { receiver: "deadman", repeatInterval: "1m" },
  },
});
const slackOnly = alertingSchema.parse({ receivers: [{ name: "team", type: "slack", webhookUrlSecret: "teamSlack" }] });
const defaults = alertingSchema.parse(undefined);

const variants: Record<string, AlertingConfig> = { defaults, full, slackOnly };

async function routesTest(yml: string, labels: Record<string, string>): Promise<string> {
  return withFiles([{ name: "alertmanager.yml", content: yml }], async (dir) => {
    const args = ["config", "routes", "test", "--config.file", join(dir, "alertmanager.yml"), ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
    const r = await runTool("amtool", args);
    expect(r.code, r.output).toBe(0);
    return r.output.split("\n").filter((l) => l.trim() && !l.startsWith("Warning:"))[0]?.trim() ?? "";
  });
}

describe("renderAlertmanagerConfig", () => {
  it.each(Object.keys(variants))("%s passes amtool check-config", async (name) => {
    const { yaml } = renderAlertmanagerConfig(variants[name]!);
    const r = await withFiles([{ name: "alertmanager.yml", content: yaml }], (dir) => runTool("amtool", ["check-config", join(dir, "alertmanager.yml")]));
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("SUCCESS");
  });

  it("routes critical, warning and info alerts to their receivers, and the Watchdog to the dead man's switch", async () => {
    const { yaml } = renderAlertmanagerConfig(full);
    expect(await routesTest(yaml, { alertname: "DS01GPUCriticalTemperature", severity: "critical" })).toBe("ops-email");
    expect(await routesTest(yaml, { alertname: "DS01GPUWaste", severity: "warning" })).toBe("ops-slack");
    expect(await routesTest(yaml, { alertname: "DS01LowGPUCapacity", severity: "info" })).toBe("digest");
    expect(await routesTest(yaml, { alertname: "Watchdog", severity: "info" })).toBe("deadman");
    expect(await routesTest(yaml, { alertname: "Unlabelled" })).toBe("ops-slack");
  });

  it("routes every shipped alert by its severity", async () => {
    const { yaml } = renderAlertmanagerConfig(full);
    const expected = { critical: "ops-email", warning: "ops-slack", info: "digest" } as const;
    const rules = listAlertRules({ thresholds: thresholdsSchema.parse(undefined), alerting: full, retentionSize: "20GB" }).map((r) => r.rule);
    for (const rule of rules) {
      const labels = { alertname: rule.alert, severity: rule.severity, ...(rule.family ? { family: rule.family } : {}) };
      expect(await routesTest(yaml, labels), rule.alert).toBe(rule.alert === "Watchdog" ? "deadman" : expected[rule.severity]);
    }
    for (const severity of SEVERITIES) {
      expect(rules.some((r) => r.severity === severity && r.alert !== "Watchdog"), severity).toBe(true);
      expect(await routesTest(yaml, { alertname: `Any${severity}`, severity })).toBe(expected[severity]);
    }
  });

  it("sends everything to the only receiver by default and discards the Watchdog", async () => {
    const { yaml, secretFiles } = renderAlertmanagerConfig(defaults);
    expect(secretFiles).toEqual([]);
    for (const severity of SEVERITIES) expect(await routesTest(yaml, { alertname: "X", severity })).toBe("none");
    expect(await routesTest(yaml, { alertname: "Watchdog", severity: "info" })).toBe(WATCHDOG_DISCARD_RECEIVER);
  });

  it("uses the configured repeat intervals: critical 1h, warning 4h, info 24h unless set", () => {
    type Route = { matchers?: string[]; repeat_interval?: string };
    const routes = (a: AlertingConfig) => (parse(renderAlertmanagerConfig(a).yaml) as { route: { routes: Route[] } }).route.routes;
    const interval = (a: AlertingConfig, severity: string) => routes(a).find((r) => r.matchers?.includes(`severity="${severity}"`))?.repeat_interval;
    expect([interval(defaults, "critical"), interval(defaults, "warning"), interval(defaults, "info")]).toEqual(["1h", "4h", "24h"]);
    expect(interval(full, "warning")).toBe("6h");
  });

  it("puts secrets only in files: no inline secret field, every *_file path listed with its secret key", () => {
    const { yaml, secretFiles } = renderAlertmanagerConfig(full);
    expect(secretFiles).toEqual([
      { path: `${ALERTMANAGER_SECRETS_DIR}/ops-email-smtp-password`, secretKey: "smtpPassword" },
      { path: `${ALERTMANAGER_SECRETS_DIR}/ops-slack-slack-webhook-url`, secretKey: "slackWebhookUrl" },
      { path: `${ALERTMANAGER_SECRETS_DIR}/deadman-bearer-token`, secretKey: "deadmanToken" },
    ]);
    for (const field of ["auth_password:", "auth_secret:", "api_url:", "credentials:", "smtp_auth_password:", "slack_api_url:", "password:"]) {
      expect(yaml, field).not.toMatch(new RegExp(`^[\\s-]*${field}`, "m"));
    }
    const fileFields = [...yaml.matchAll(/^[\s-]*\w+_file: (.+)$/gm)].map((m) => m[1]);
    expect(fileFields.sort()).toEqual(secretFiles.map((s) => s.path).sort());
    // Secret key names are references, not values, and stay out of the file too.
    for (const s of secretFiles) expect(yaml).not.toContain(s.secretKey);
  });

  it("rejects credentials in a webhook URL and receivers the routes do not know", () => {
    expect(() => alertingSchema.parse({ receivers: [{ name: "w", type: "webhook", url: "https://user:pw@example.org/hook" }] })).toThrow(/no credentials in the URL/);
    expect(() => alertingSchema.parse({ routing: { critical: { receiver: "pager" } } })).toThrow(/receiver pager is not one of: none/);
  });
});

describe("inhibition in a running Alertmanager", () => {
  let proc: ChildProcess | undefined;
  let dir = "";
  let base = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gpu-monitoring-am-"));
    const port = await freeLoopbackPort();
    base = `http://127.0.0.1:${port}`;
    await writeFile(join(dir, "alertmanager.yml"), renderAlertmanagerConfig(defaults).yaml);
    proc = spawn(
      "prometheus-alertmanager",
      [
        `--config.file=${join(dir, "alertmanager.yml")}`,
        `--storage.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--cluster.listen-address=",
      ],
      { stdio: "ignore" },
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error("alertmanager did not become ready in 30s");
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    if (proc?.pid) {
      proc.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const gpu = { instance: "gpu-node-1", job: "dcgm-exporter", gpu: "0" };
  const alerts: Record<string, string>[] = [
    { alertname: "DS01GPUCriticalTemperature", severity: "critical", family: "gpu_temperature", ...gpu },
    { alertname: "DS01GPUHighTemperature", severity: "warning", family: "gpu_temperature", ...gpu },
    { alertname: "DS01GPUHighTemperature", severity: "warning", family: "gpu_temperature", ...gpu, gpu: "1" },
    { alertname: "DS01CriticalGPUCapacity", severity: "warning", family: "gpu_capacity" },
    { alertname: "DS01LowGPUCapacity", severity: "info", family: "gpu_capacity" },
    { alertname: "DS01ExporterDown", severity: "critical", job: "ds01-exporter", instance: "gpu-node-1" },
    { alertname: "TargetDown", severity: "warning", job: "node-exporter", instance: "gpu-node-2" },
    { alertname: "DS01GPUXIDError", severity: "critical", job: "dcgm-exporter", instance: "gpu-node-2", gpu: "3" },
    { alertname: "DS01GPUXIDError", severity: "critical", job: "dcgm-exporter", instance: "gpu-node-3", gpu: "3" },
  ];

  it("the more severe alert of a family suppresses the rest for the same target; a down host suppresses its other alerts", async () => {
    const post = await fetch(`${base}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(alerts.map((labels) => ({ labels, annotations: { summary: labels.alertname } }))),
    });
    expect(post.status).toBe(200);
    type Got = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    let got: Got[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      got = (await (await fetch(`${base}/api/v2/alerts`)).json()) as Got[];
      if (got.length === alerts.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const inhibited = (labels: Record<string, string>) =>
      got.find((a) => Object.entries(labels).every(([k, v]) => a.labels[k] === v) && Object.keys(a.labels).length === Object.keys(labels).length)?.status
        .inhibitedBy.length ?? -1;
    const verdicts = alerts.map((a) => `${a.alertname}${a.instance ? `@${a.instance}` : ""}${a.gpu ? `/gpu${a.gpu}` : ""}: ${inhibited(a) > 0 ? "inhibited" : inhibited(a) === 0 ? "active" : "missing"}`);
    expect(verdicts).toEqual([
      "DS01GPUCriticalTemperature@gpu-node-1/gpu0: active",
      "DS01GPUHighTemperature@gpu-node-1/gpu0: inhibited",
      "DS01GPUHighTemperature@gpu-node-1/gpu1: active",
      "DS01CriticalGPUCapacity: active",
      "DS01LowGPUCapacity: inhibited",
      "DS01ExporterDown@gpu-node-1: active",
      "TargetDown@gpu-node-2: active",
      "DS01GPUXIDError@gpu-node-2/gpu3: inhibited",
      "DS01GPUXIDError@gpu-node-3/gpu3: active",
    ]);
  });
});
