import { z } from "zod";
import { alertingSchema, thresholdsSchema } from "../../alerts/config";
import { kubernetesSchemaFor } from "../platforms/kubernetes/config";
import { SERVICE_NAMES, type BuiltinServiceName } from "../spec";
import { hostPath } from "./paths";
import { credentialFreeUrl } from "./url";

/**
 * The stack config as users write it (`gpu-monitoring:<key>` in stacks/Pulumi.<stack>.yaml).
 * Every field is optional here: what is left out comes from the profile's defaults (defaults.ts),
 * and resolve.ts turns the result into a complete StackConfig and runs the cross-field checks.
 * Objects are strict so a misspelt key is an error rather than a silently ignored setting.
 */

/** Prometheus duration (`15s`, `1h30m`, `7d`); the same grammar Prometheus itself accepts. */
export const DURATION_PATTERN = /^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$/;
export const duration = z.string().superRefine((s, ctx) => {
  if (!DURATION_PATTERN.test(s) || s.length === 0) {
    ctx.addIssue({ code: "custom", message: "not a Prometheus duration|durations like 15s, 1m30s, 7d" });
  } else if (!/[1-9]/.test(s)) {
    ctx.addIssue({ code: "custom", message: "duration must be greater than zero|a duration above 0s" });
  }
});

/** Prometheus retention size (`20GB`, `512MB`). */
export const SIZE_PATTERN = /^[1-9]\d*(?:B|KB|MB|GB|TB|PB|EB)$/;
export const byteSize = z.string().regex(SIZE_PATTERN, { message: "not a size|sizes like 512MB, 20GB" });

export const port = z.number().int().min(1).max(65535);

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
export const ipv4 = z.string().regex(IPV4, { message: "not an IPv4 address|an IPv4 address such as 127.0.0.1" });

/** host:port, where host is a DNS name or an IPv4 address. */
export const HOST_PORT_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*):(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})$/;
export const hostPort = z.string().regex(HOST_PORT_PATTERN, { message: "not host:port|host:port such as gpu-node-2:9100" });

/**
 * An image reference pinned to a version: `repo:tag` (not `latest`) or `repo@sha256:...`.
 * Unpinned images make two `pulumi up` runs deploy different software.
 */
const IMAGE_PATTERN =
  /^(?<repo>[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*)(?::(?<tag>\w[\w.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/;
export const pinnedImage = z.string().superRefine((ref, ctx) => {
  const m = IMAGE_PATTERN.exec(ref);
  if (!m?.groups) {
    ctx.addIssue({ code: "custom", message: "not an image reference|repo:tag or repo@sha256:<digest>" });
    return;
  }
  const { tag, digest } = m.groups;
  if (!digest && (!tag || tag === "latest")) {
    ctx.addIssue({ code: "custom", message: "image is not pinned to a version|a version tag other than latest, or an @sha256 digest" });
  }
});

/** Prometheus job names become label values and file names; keep them simple. */
export const jobName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_-]{0,62}$/, { message: "not a job name|letters, digits, _ and -, starting with a letter or _" });

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Label values end up in every series and every rendered file: a few hundred characters is plenty. */
export const MAX_LABEL_VALUE_LENGTH = 1024;
export const MAX_LABELS = 64;
export const labelMap = z
  .record(
    z
      .string()
      .max(128)
      .regex(LABEL_NAME, { message: "not a Prometheus label name|[a-zA-Z_][a-zA-Z0-9_]*" })
      .refine((k) => !k.startsWith("__"), {
        message: "label names starting with __ are reserved|names not starting with __",
      }),
    z.string().max(MAX_LABEL_VALUE_LENGTH),
  )
  .refine((m) => Object.keys(m).length <= MAX_LABELS, { message: `too many labels|at most ${MAX_LABELS} labels` });

/** Absolute path on the host, normalised and outside the system directories (see paths.ts). */
export const absPath = hostPath();

/** A name that is valid as a Docker container/volume name prefix and a DNS label part. */
export const namePrefix = z.string().regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, {
  message: "not a valid name prefix|lower-case letters, digits and -, 2-32 characters",
});

/** A GPU as DCGM and the container runtime name it: an index, or a GPU/MIG UUID. Nothing that could split a list or a line. */
const GPU_ID = /^(?:\d{1,3}|(?:GPU|MIG)-[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}|MIG-GPU-[0-9A-Fa-f-]{36}\/\d{1,2}\/\d{1,2})$/;

/** One optional key per registered service (`components.<service>`, `ports.<service>`, ...). */
function perServiceKeys<T extends z.ZodType>(services: readonly string[], value: T) {
  const shape = Object.fromEntries(services.map((s) => [s, value.optional()])) as { [K in BuiltinServiceName]: z.ZodOptional<T> } & Record<string, z.ZodOptional<T>>;
  return z.strictObject(shape);
}

export const gpuSchema = z.strictObject({
  /** GPUs the DCGM exporter sees: "all", or device indexes/UUIDs. */
  devices: z.union([
    z.literal("all"),
    z
      .array(z.string().regex(GPU_ID, { message: "not a GPU index or UUID|an index such as 0, or GPU-<uuid> / MIG-<uuid>" }))
      .min(1)
      .max(64),
  ]),
  /**
   * The user's own counter list inside the DCGM image, instead of the one the stack renders and
   * mounts (every field its alerts and dashboards read); unset by default.
   */
  collectors: z
    .string()
    .regex(/^\/etc\/dcgm-exporter\/[A-Za-z0-9_.-]+\.csv$/, { message: "not a DCGM counter list|a .csv file in /etc/dcgm-exporter/, such as /etc/dcgm-exporter/dcp-metrics-included.csv" })
    .refine((p) => !p.includes(".."), { message: "has a .. segment|a .csv file in /etc/dcgm-exporter/" })
    .optional(),
});

export const exporterSchema = z.strictObject({
  /**
   * container: the stack runs our exporter image. host: the exporter runs on the host (systemd,
   * DS01's way) and Prometheus scrapes it at `hostTarget`.
   */
  run: z.enum(["container", "host"]).optional(),
  simulation: z.boolean().optional(),
  /** Host port for the simulated DCGM endpoint (simulation without the real DCGM exporter). */
  simulatedDcgmPort: port.optional(),
  dockerSocket: absPath.optional(),
  /** Its folder is mounted read-only into the exporter. */
  stateFile: hostPath({ mounts: "folder" }).optional(),
  eventsFile: hostPath({ mounts: "folder" }).optional(),
  stateDir: absPath.optional(),
  /** utmp database (login sessions per user), e.g. /var/run/utmp. */
  utmpFile: absPath.optional(),
  /** DS01's `<group>.members` directory, e.g. /opt/ds01-infra/config/runtime/groups. */
  groupsDir: absPath.optional(),
  /** cgroup v2 mount with DS01's user slices (CPU and memory per user), e.g. /sys/fs/cgroup. */
  cgroupRoot: hostPath({ mounts: "itself", allow: ["/sys/fs/cgroup"] }).optional(),
  /** Group id owning the Docker socket on the host, so the non-root exporter can read it. */
  dockerGroupId: z.number().int().min(0).optional(),
  drmUrl: credentialFreeUrl("put the API key in the drmApiKey secret (pulumi config set --secret drmApiKey ...)").optional(),
  updateIntervalSeconds: z.number().int().min(1).max(3600).optional(),
  /**
   * Build the exporter image from exporter/Dockerfile on the Docker host (default), or pull
   * `images.exporter` from a registry when false.
   */
  buildImage: z.boolean().optional(),
  /** Where Prometheus reaches a host-run exporter. */
  hostTarget: hostPort.optional(),
});

export const extraScrapeTargetSchema = z.strictObject({
  job: jobName,
  targets: z.array(hostPort).min(1),
  labels: labelMap.optional(),
  scrapeInterval: duration.optional(),
  metricsPath: z.string().regex(/^\//, { message: "not a path|a path starting with /" }).optional(),
  scheme: z.enum(["http", "https"]).optional(),
});

export const fileSdSchema = z.strictObject({
  /** Host directory mounted read-only into Prometheus at /etc/prometheus/file_sd. */
  hostDir: absPath.optional(),
  jobs: z
    .array(
      z.strictObject({
        job: jobName,
        /** Globs relative to the file_sd directory, e.g. `gpu-hosts/*.json`. */
        files: z.array(z.string().regex(/^[^/].*\.(?:json|ya?ml)$/, { message: "not a relative .json/.yml glob|globs like gpu-hosts/*.json" })).min(1),
        refreshInterval: duration.optional(),
        scrapeInterval: duration.optional(),
      }),
    )
    .optional(),
});

/** A host name or IPv4 address (a fixed monitoring target). */
const hostName = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, { message: "not a host name|a DNS name or IPv4 address such as gpu-node-3" });

/**
 * One service to monitor on a SLURM cluster: its scrape job and port, and where it runs, given
 * as exactly one of a SLURM job name (the service's ID), a SLURM job ID or a fixed host.
 */
export const slurmMonitoringTargetSchema = z.strictObject({
  job: jobName,
  port,
  jobName: z.string().regex(/^[^\s,:=]{1,200}$/, { message: "not a SLURM job name|a job name without spaces, commas, : or =" }).optional(),
  jobId: z.union([z.number().int().min(1), z.string().regex(/^[1-9]\d*$/, { message: "not a SLURM job ID|a job number such as 4242" })]).optional(),
  host: hostName.optional(),
  scrapeInterval: duration.optional(),
  metricsPath: z.string().regex(/^\//, { message: "not a path|a path starting with /" }).optional(),
});

export const slurmSchema = z.strictObject({
  enabled: z.boolean().optional(),
  /** How often the exporter runs sinfo and squeue (1s to 1h). */
  pollInterval: duration.optional(),
  /** Bound on each sinfo/squeue run. */
  commandTimeout: duration.optional(),
  /** SLURM_CONF for the exporter's commands; the host's default otherwise. SLURM keeps it in /etc/slurm. */
  slurmConf: hostPath({ mounts: "itself", allow: ["/etc/slurm"] }).optional(),
  /** How often Prometheus asks the exporter for the monitoring targets. */
  discoveryRefreshInterval: duration.optional(),
  monitoringTargets: z.array(slurmMonitoringTargetSchema).optional(),
});

function stackConfigInputSchemaFor(services: readonly string[]) {
  return z.strictObject({
    platform: z.enum(["docker", "kubernetes"]).optional(),
    profile: z.enum(["dev", "prod"]).optional(),
    namePrefix: namePrefix.optional(),
    components: perServiceKeys(services, z.boolean()).optional(),
    gpu: gpuSchema.optional(),
    exporter: exporterSchema.optional(),
    bindAddress: ipv4.optional(),
    bindAddresses: perServiceKeys(services, ipv4).optional(),
    /** Publishing services that have no authentication on an address beyond loopback must be meant. */
    exposeUnauthenticated: z.boolean().optional(),
    ports: perServiceKeys(services, port).optional(),
    images: perServiceKeys(services, pinnedImage).optional(),
    retention: z.strictObject({ time: duration.optional(), size: byteSize.optional() }).optional(),
    /** What `pulumi destroy` and renames may do to the data volumes, claims and namespace. */
    data: z.strictObject({ retainOnDelete: z.boolean().optional(), protect: z.boolean().optional() }).optional(),
    scrapeIntervals: z.strictObject({ default: duration.optional(), ...perServiceKeys(services, duration).shape }).optional(),
    evaluationInterval: duration.optional(),
    externalLabels: labelMap.optional(),
    extraScrapeTargets: z.array(extraScrapeTargetSchema).optional(),
    fileSd: fileSdSchema.optional(),
    slurm: slurmSchema.optional(),
    grafanaAdminUser: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, { message: "not a user name|letters, digits and . _ @ -, up to 64 characters" }).optional(),
    grafanaRootUrl: credentialFreeUrl("Grafana's root URL is shown to every visitor").optional(),
    thresholds: thresholdsSchema,
    alerting: alertingSchema,
    kubernetes: kubernetesSchemaFor(services),
  });
}

let built: { readonly services: string; readonly schema: ReturnType<typeof stackConfigInputSchemaFor> } | undefined;

/**
 * The stack config's schema for the registered services, built when first asked for and again
 * after a service is registered (so `components.<service>` of a new service is a known key).
 */
export function stackConfigInputSchema(): ReturnType<typeof stackConfigInputSchemaFor> {
  const services = SERVICE_NAMES.join(",");
  if (built?.services !== services) built = { services, schema: stackConfigInputSchemaFor(SERVICE_NAMES) };
  return built.schema;
}

export type StackConfigInput = z.output<ReturnType<typeof stackConfigInputSchemaFor>>;

/** Keys whose value must be a Pulumi secret; any other top-level secret is passed through by name. */
export const KNOWN_SECRET_KEYS = ["grafanaAdminPassword", "drmApiKey"] as const;
export type KnownSecretKey = (typeof KNOWN_SECRET_KEYS)[number];
