import { z } from "zod";

/**
 * Alert thresholds as part of the stack config (`gpu-monitoring:thresholds`): the one place every
 * level lives. alerts/ builds its rule expressions from them and dashboards/ its colour steps, so a
 * threshold moved in the stack config moves both. Defaults follow DS01's rules and the DRM
 * integration guide, so an absent key reproduces their behaviour.
 *
 * Every nested object defaults to its own parsed defaults: zod 4 returns a `.default()` value
 * unparsed, so `.default({})` alone would lose the inner defaults.
 */
export function withDefaults<T extends z.ZodObject>(schema: T): z.ZodDefault<T> {
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

/** Every threshold at its default, as an absent `thresholds` key gives. */
export function defaultThresholds(): Thresholds {
  return thresholdsSchema.parse(undefined);
}

/** Two colour levels: where a panel turns orange (`warn`) and red (`crit`). */
export interface Levels {
  readonly warn: number;
  readonly crit: number;
}

/**
 * Levels the dashboards colour by, each tied to the alert that watches the same quantity, so a
 * threshold moved in the stack config moves a panel's orange and red with the alert. Where the
 * alert has one level, the other is a fixed distance from it (named below); quantities no alert
 * watches keep fixed levels, also named here.
 */
export interface PanelLevels {
  /** GPU temperature in °C: DS01's warning and critical alerts. */
  readonly gpuTemperatureCelsius: Levels;
  /** A slot's utilisation (0-100), low is bad: red below the waste line, orange below `warn`. */
  readonly gpuUtilisationPercent: Levels;
  /** A user's mean utilisation (0-100), low is bad: red below the user waste line. */
  readonly userGpuUtilisationPercent: Levels;
  /** Framebuffer in use (0-100): red at the GPU memory alert. */
  readonly gpuMemoryPercent: Levels;
  /** Share of allocated slots wasted (0-100): red at the system waste alert. */
  readonly systemGpuWastePercent: Levels;
  /** Host memory not available (0-100): red where the memory alert fires. */
  readonly hostMemoryUsedPercent: Levels;
  /** A filesystem's fill level (0-100): the root disk's warning and low-space alerts. */
  readonly diskUsedPercent: Levels;
  /** DS01's state filesystem fill level (0-100). */
  readonly stateDiskUsedPercent: Levels;
  /** A container's memory against its limit (0-100). */
  readonly containerMemoryPercent: Levels;
  /** DRM cluster CPU utilisation (0-100). */
  readonly drmCpuPercent: Levels;
  /** DRM pending tasks. */
  readonly drmPendingTasks: Levels;
  /** DRM workers, low is bad: orange below the minimum the alert wants, red at none. */
  readonly drmWorkers: Levels;
  /** DRM allocation time in ms. */
  readonly drmAllocationTimeMs: Levels;
  /** |z| of a DRM figure against its baseline: a regression at `crit`. */
  readonly drmRegressionZScore: Levels;
  /** The baseline window the DRM regression panels compare with. */
  readonly drmRegressionBaselineWindow: string;
  /** TSDB size as a share (0-100) of the retention size. */
  readonly tsdbSizePercent: Levels;
  /** Seconds the longest GPU job has waited in SLURM's queue. */
  readonly slurmGpuJobPendingSeconds: Levels;
  /** Seconds a Pending GPU pod has existed: orange at the pending alert's limit, red at twice it. */
  readonly k8sGpuPodPendingSeconds: Levels;
  /** A pod's GPU utilisation (0-100), low is bad: red below the idle line of the Kubernetes waste alert. */
  readonly k8sPodGpuUtilisationPercent: Levels;
  /** Levels of quantities no alert watches. */
  readonly fixed: typeof FIXED_LEVELS;
}

/**
 * Colour levels of quantities no alert watches, kept here with the others so every level the
 * dashboards use is in one place. For falling quantities (free capacity, efficiency) `crit` is
 * below `warn`.
 */
export const FIXED_LEVELS = {
  drmMemoryPercent: { warn: 80, crit: 90 },
  drmGpuPercent: { warn: 85, crit: 95 },
  drmResourceEfficiencyPercent: { crit: 50, warn: 70 },
  gpuEquivalentsFree: { crit: 0.5, warn: 1 },
  slotsFree: { crit: 1, warn: 2 },
  exporterScrapeSeconds: { warn: 0.025, crit: 0.25 },
  hostCpuBusyPercent: { warn: 80, crit: 95 },
  loadPerCore: { warn: 1, crit: 2 },
  slurmNodesUnavailable: { warn: 1, crit: 2 },
  slurmAllocatedPercent: { warn: 80, crit: 95 },
  scrapeDurationSeconds: { warn: 1, crit: 5 },
  k8sDevicesAllocatedPercent: { warn: 80, crit: 95 },
  k8sIdleDevices: { warn: 1, crit: 4 },
  k8sPendingGpuPods: { warn: 1, crit: 5 },
  k8sGpuNodesNotReady: { warn: 1, crit: 2 },
} as const satisfies Record<string, Levels>;

/** Utilisation (0-100) above which a GPU counts as properly busy (green). */
export const GPU_BUSY_PERCENT = 20;
/** Points below a percentage alert at which its panel turns orange. */
export const PERCENT_EARLY_WARNING = 5;
/** Points below the host memory alert at which memory panels turn orange. */
export const MEMORY_EARLY_WARNING = 10;
/** Points below the DRM CPU alert at which CPU panels turn orange. */
export const DRM_CPU_EARLY_WARNING = 15;
/** Share of the allocation-time alert at which its panel turns orange. */
export const ALLOCATION_TIME_EARLY_WARNING = 0.8;

export function panelLevels(t: Thresholds): PanelLevels {
  const { ds01, drm, stack, slurm, kubernetes } = t;
  const below = (crit: number, points: number): Levels => ({ warn: Math.max(0, crit - points), crit });
  return {
    gpuTemperatureCelsius: { warn: ds01.gpuTemperatureWarningCelsius, crit: ds01.gpuTemperatureCriticalCelsius },
    gpuUtilisationPercent: { crit: ds01.gpuWasteUtilizationPercent, warn: Math.max(GPU_BUSY_PERCENT, ds01.gpuWasteUtilizationPercent) },
    userGpuUtilisationPercent: { crit: ds01.userGpuWasteUtilizationPercent, warn: Math.max(GPU_BUSY_PERCENT, ds01.userGpuWasteUtilizationPercent) },
    gpuMemoryPercent: below(ds01.gpuMemoryPercent, PERCENT_EARLY_WARNING),
    systemGpuWastePercent: { warn: ds01.systemGpuWastePercent / 2, crit: ds01.systemGpuWastePercent },
    hostMemoryUsedPercent: below(100 - ds01.memoryAvailablePercent, MEMORY_EARLY_WARNING),
    diskUsedPercent: { warn: 100 - ds01.rootDiskFreeWarningPercent, crit: 100 - ds01.rootDiskFreeLowPercent },
    stateDiskUsedPercent: below(100 - ds01.stateDiskFreePercent, MEMORY_EARLY_WARNING),
    containerMemoryPercent: below(ds01.containerMemoryPercent, MEMORY_EARLY_WARNING),
    drmCpuPercent: below(drm.cpuUtilizationPercent, DRM_CPU_EARLY_WARNING),
    drmPendingTasks: { warn: drm.pendingTasks / 2, crit: drm.pendingTasks },
    drmWorkers: { crit: Math.min(1, drm.minWorkers), warn: drm.minWorkers },
    drmAllocationTimeMs: { warn: drm.allocationTimeMs * ALLOCATION_TIME_EARLY_WARNING, crit: drm.allocationTimeMs },
    drmRegressionZScore: { warn: Math.max(0, drm.regressionZScore - 1), crit: drm.regressionZScore },
    drmRegressionBaselineWindow: drm.regressionBaselineWindow,
    tsdbSizePercent: below(stack.tsdbSizeSharePercent, PERCENT_EARLY_WARNING),
    slurmGpuJobPendingSeconds: { warn: slurm.gpuJobPendingSeconds, crit: 2 * slurm.gpuJobPendingSeconds },
    k8sGpuPodPendingSeconds: { warn: kubernetes.gpuPodPendingSeconds, crit: 2 * kubernetes.gpuPodPendingSeconds },
    k8sPodGpuUtilisationPercent: { crit: kubernetes.idleGpuUtilizationPercent, warn: Math.max(GPU_BUSY_PERCENT, kubernetes.idleGpuUtilizationPercent) },
    fixed: FIXED_LEVELS,
  };
}
