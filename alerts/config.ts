import { z } from "zod";
import { durationSchema, withDefaults } from "../metrics/thresholds";

export { PROMETHEUS_DURATION, durationSchema, thresholdsSchema, type Duration, type Thresholds } from "../metrics/thresholds";

/**
 * Alertmanager routing and rule switches, as part of the stack config (`gpu-monitoring:alerting`).
 * The thresholds (`gpu-monitoring:thresholds`) live in metrics/thresholds.ts, shared with the
 * dashboards, so a moved threshold moves an alert and the colours that show it together.
 */

/** Names of Pulumi secret config keys (`pulumi config set --secret <key> ...`), never values. */
const secretKey = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.:-]*$/, "a Pulumi config key name (the secret's value is never written here)");

const receiverName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "lowercase letters, digits, '-' and '_'");

const emailReceiver = z.strictObject({
  name: receiverName,
  type: z.literal("email"),
  to: z.array(z.email()).min(1),
  from: z.email(),
  /** `host:port` of the SMTP server. */
  smarthost: z.string().regex(/^[^\s:]+:\d+$/, "host:port"),
  authUsername: z.string().min(1).optional(),
  /** Secret config key holding the SMTP password. */
  authPasswordSecret: secretKey.optional(),
  /** STARTTLS is required unless set false (port 465 implicit TLS is handled by Alertmanager). */
  requireTls: z.boolean().default(true),
  tlsServerName: z.string().min(1).optional(),
  tlsInsecureSkipVerify: z.boolean().default(false),
  sendResolved: z.boolean().default(true),
});

const slackReceiver = z.strictObject({
  name: receiverName,
  type: z.literal("slack"),
  /** Secret config key holding the Slack incoming-webhook URL (the URL is the credential). */
  webhookUrlSecret: secretKey,
  channel: z.string().min(1).optional(),
  sendResolved: z.boolean().default(true),
});

const webhookReceiver = z.strictObject({
  name: receiverName,
  type: z.literal("webhook"),
  /**
   * The endpoint. Alertmanager 0.25 has no `url_file` for webhooks, so the URL is plain config:
   * put credentials in `bearerTokenSecret`, never in the URL.
   */
  url: z.url({ protocol: /^https?$/ }).refine((u) => !new URL(u).password && !new URL(u).username, {
    message: "no credentials in the URL; use bearerTokenSecret",
  }),
  /** Secret config key holding a bearer token sent as `Authorization: Bearer`. */
  bearerTokenSecret: secretKey.optional(),
  maxAlerts: z.number().int().min(0).default(0),
  sendResolved: z.boolean().default(true),
});

const noneReceiver = z.strictObject({ name: receiverName, type: z.literal("none") });

export const receiverSchema = z.discriminatedUnion("type", [emailReceiver, slackReceiver, webhookReceiver, noneReceiver]);
export type Receiver = z.infer<typeof receiverSchema>;

export const SEVERITIES = ["critical", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

const severityRoute = (repeat: string, wait: string) =>
  withDefaults(
    z.strictObject({
      /** Receiver for this severity; absent means the default receiver. */
      receiver: receiverName.optional(),
      repeatInterval: durationSchema.default(repeat),
      groupWait: durationSchema.default(wait),
    }),
  );

const routingSchema = z.strictObject({
  /** Receiver of anything no severity route takes; absent means the first receiver. */
  defaultReceiver: receiverName.optional(),
  groupBy: z.array(z.string().min(1)).min(1).default(["alertname", "severity", "instance"]),
  groupWait: durationSchema.default("30s"),
  groupInterval: durationSchema.default("5m"),
  repeatInterval: durationSchema.default("4h"),
  critical: severityRoute("1h", "10s"),
  warning: severityRoute("4h", "30s"),
  info: severityRoute("24h", "5m"),
  resolveTimeout: durationSchema.default("5m"),
  /**
   * The always-firing Watchdog alert goes to a dead man's switch service (a webhook receiver)
   * that pages when it stops arriving; without a receiver it is discarded.
   */
  watchdog: withDefaults(
    z.strictObject({
      receiver: receiverName.optional(),
      repeatInterval: durationSchema.default("5m"),
    }),
  ),
});

const ruleSetsSchema = z.strictObject({
  ds01: z.boolean().default(true),
  dcgm: z.boolean().default(true),
  drm: z.boolean().default(true),
  stack: z.boolean().default(true),
  /** Rendered only on stacks with the SLURM source on (slurm.enabled). */
  slurm: z.boolean().default(true),
  /** Rendered only on Kubernetes stacks that run kube-state-metrics. */
  kubernetes: z.boolean().default(true),
});

export const alertingSchema = withDefaults(
  z
    .strictObject({
      ruleSets: withDefaults(ruleSetsSchema),
      /** Alert names left out of the rendered rules. */
      disabledAlerts: z.array(z.string().min(1)).default([]),
      /** Per-alert `for` replacements, e.g. `{ DS01GPUWaste: "1m" }` on a test stack. */
      forOverrides: z.record(z.string().min(1), durationSchema).default({}),
      /** Caps every `for` (and group interval) at this duration: a whole test stack fires quickly. */
      maxFor: durationSchema.optional(),
      /** Base of every alert's runbook_url; the alert's anchor is appended. */
      runbookBaseUrl: z.string().min(1).default("docs/alerts.md"),
      receivers: z.array(receiverSchema).min(1).default([{ name: "none", type: "none" }]),
      routing: withDefaults(routingSchema),
    })
    .superRefine((cfg, ctx) => {
      const names = cfg.receivers.map((r) => r.name);
      const seen = new Set<string>();
      for (const n of names) {
        if (seen.has(n)) ctx.addIssue({ code: "custom", path: ["receivers"], message: `receiver name ${n} is used twice` });
        seen.add(n);
      }
      const refs: [string[], string | undefined][] = [
        [["routing", "defaultReceiver"], cfg.routing.defaultReceiver],
        [["routing", "watchdog", "receiver"], cfg.routing.watchdog.receiver],
        ...SEVERITIES.map((s): [string[], string | undefined] => [["routing", s, "receiver"], cfg.routing[s].receiver]),
      ];
      for (const [path, ref] of refs) {
        if (ref !== undefined && !seen.has(ref)) {
          ctx.addIssue({ code: "custom", path, message: `receiver ${ref} is not one of: ${names.join(", ")}` });
        }
      }
    }),
);
export type AlertingConfig = z.infer<typeof alertingSchema>;
