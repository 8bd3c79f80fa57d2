import { z } from "zod";

/**
 * Alert thresholds and Alertmanager routing, as parts of the stack config
 * (`gpu-monitoring:thresholds`, `gpu-monitoring:alerting`). Defaults follow DS01's rules and the
 * DRM integration guide, so an absent key reproduces their behaviour.
 *
 * Every nested object defaults to its own parsed defaults: zod 4 returns a `.default()` value
 * unparsed, so `.default({})` alone would lose the inner defaults.
 */
function withDefaults<T extends z.ZodObject>(schema: T): z.ZodDefault<T> {
  return schema.default(() => schema.parse({}) as z.core.util.NoUndefined<z.output<T>>);
}

/** A Prometheus duration such as `30s`, `5m`, `1h30m`. */
export const PROMETHEUS_DURATION = /^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$/;
export const durationSchema = z
  .string()
  .regex(PROMETHEUS_DURATION, "a Prometheus duration such as 30s, 5m or 1h30m")
  .refine((s) => s.length > 0 && s !== "0s", "a non-zero duration");
export type Duration = z.infer<typeof durationSchema>;

const percent = (def: number) => z.number().min(0).max(100).default(def);
const positive = (def: number) => z.number().positive().default(def);
const nonNegative = (def: number) => z.number().min(0).default(def);
/** A count of things (workers, tasks, allocations): a whole number. */
const count = (def: number) => z.number().int().min(0).default(def);

const ds01Thresholds = z.strictObject({
  /** An allocated slot below this utilisation (0-100) counts as wasted. */
  gpuWasteUtilizationPercent: percent(5),
  /** A user whose average utilisation stays below this is wasting their GPUs. */
  userGpuWasteUtilizationPercent: percent(5),
  /** Share of allocated slots that may be wasted before the system-wide alert. */
  systemGpuWastePercent: percent(50),
  /** The system-wide waste alert needs more allocations than this (1 idle of 1 is not "high waste"). */
  systemGpuWasteMinAllocations: count(3),
  gpuTemperatureWarningCelsius: positive(85),
  gpuTemperatureCriticalCelsius: positive(90),
  gpuMemoryPercent: percent(95),
  /** cAdvisor CPU in percent of one core: 400 is four cores. */
  containerCpuPercent: positive(400),
  containerMemoryPercent: percent(90),
  /** Free space on DS01's state filesystem. */
  stateDiskFreePercent: percent(10),
  /** Free space on the root filesystem where container volumes (and Prometheus's data) live. */
  rootDiskFreeLowPercent: percent(10),
  rootDiskFreeWarningPercent: percent(15),
  /** 15-minute load above this many times the CPU count. */
  loadPerCpu: positive(0.8),
  memoryAvailablePercent: percent(10),
  /** Free GPU-equivalents below this share of the total. */
  gpuCapacityFreePercent: percent(20),
  /** Fewer free GPU-equivalents than this is critical. */
  gpuCapacityFreeEquivalents: nonNegative(1),
}).superRefine((t, ctx) => {
  if (t.gpuTemperatureWarningCelsius >= t.gpuTemperatureCriticalCelsius) {
    ctx.addIssue({ code: "custom", path: ["gpuTemperatureWarningCelsius"], message: "must be below gpuTemperatureCriticalCelsius" });
  }
  if (t.rootDiskFreeLowPercent > t.rootDiskFreeWarningPercent) {
    ctx.addIssue({ code: "custom", path: ["rootDiskFreeLowPercent"], message: "must not be above rootDiskFreeWarningPercent" });
  }
});

const dcgmThresholds = z.strictObject({
  /** Share of wall time a GPU was throttled for heat / power over the rate window. */
  thermalThrottlePercent: percent(10),
  powerThrottlePercent: percent(25),
  /** Window over which throttling and ECC counters are read. */
  rateWindow: durationSchema.default("5m"),
});

const drmThresholds = z.strictObject({
  cpuUtilizationPercent: percent(85),
  minWorkers: count(3),
  pendingTasks: count(10),
  allocationTimeMs: positive(500),
  /** How many standard deviations from the recent baseline is a regression. */
  regressionZScore: positive(3),
  /** The recent window compared against the baseline. */
  regressionWindow: durationSchema.default("10m"),
  /** The baseline the recent window is compared with (ends where the recent window starts). */
  regressionBaselineWindow: durationSchema.default("1h"),
  /**
   * A floor for the baseline's standard deviation, as a share of its mean, so a perfectly flat
   * baseline does not turn noise into an infinite z-score.
   */
  regressionMinRelativeStddev: z.number().min(0).max(1).default(0.05),
  /** Fewer baseline samples than this and there is no verdict (the dashboard guide asks for 10). */
  regressionMinSamples: z.number().int().min(2).default(10),
  /** How far ahead predict_linear looks for capacity exhaustion. */
  capacityForecastHorizon: durationSchema.default("1h"),
  /** The history predict_linear fits its line to. */
  capacityForecastWindow: durationSchema.default("30m"),
  /** Forecast pending tasks per worker above which capacity runs out. */
  capacityPendingPerWorker: positive(5),
  /** Forecast CPU utilisation above which capacity runs out. */
  capacityCpuPercent: percent(95),
});

const stackThresholds = z.strictObject({
  /** TSDB blocks as a share of the configured retention size. */
  tsdbSizeSharePercent: percent(85),
  /** Share of Alertmanager notification attempts that may fail per integration. */
  notificationFailurePercent: percent(10),
  /** Window for the rate-based self-monitoring alerts. */
  rateWindow: durationSchema.default("5m"),
});

const slurmThresholds = z.strictObject({
  /** A job asking for GPUs may wait this long before the queue alert (seconds). */
  gpuJobPendingSeconds: positive(3600),
});

const kubernetesThresholds = z.strictObject({
  /** A pod asking for GPUs may stay Pending this long (seconds since it was created) before the alert. */
  gpuPodPendingSeconds: positive(900),
  /** A scheduled pod whose GPUs' average utilisation (0-100) stays below this holds them idle. */
  idleGpuUtilizationPercent: percent(5),
  /** The window the idle-GPU alert averages utilisation over; a pod must be older than this. */
  idleGpuWindow: durationSchema.default("1h"),
  /** The idle-GPU alert fires for a namespace holding at least this many idle GPU devices. */
  idleGpuMinDevices: z.number().int().min(1).default(1),
  /** Allocatable GPUs of a node below their highest value in this window mean devices were lost. */
  allocatableDropWindow: durationSchema.default("1h"),
});

export const thresholdsSchema = withDefaults(
  z.strictObject({
    ds01: withDefaults(ds01Thresholds),
    dcgm: withDefaults(dcgmThresholds),
    drm: withDefaults(drmThresholds),
    stack: withDefaults(stackThresholds),
    slurm: withDefaults(slurmThresholds),
    kubernetes: withDefaults(kubernetesThresholds),
  }),
);
export type Thresholds = z.infer<typeof thresholdsSchema>;

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
