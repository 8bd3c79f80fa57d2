import { z } from "zod";
import { STACK_JOB_NAMES } from "../../../metrics/jobs";
import type { BuiltinServiceName } from "../../spec";
import { hostPath, outputDir } from "../../config/paths";
import { credentialFreeUrl } from "../../config/url";

/**
 * Kubernetes-only settings (`gpu-monitoring:kubernetes`), used when platform is "kubernetes".
 * Everything here has a default, so `kubernetes: {}` (or leaving the key out) yields a working
 * single-replica stack in namespace `monitoring` that schedules GPU exporters on nodes labelled by
 * the NVIDIA GPU operator / GPU feature discovery.
 */

/** RFC 1123 label: what Kubernetes accepts for namespaces and most object names. */
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: "not an RFC 1123 label|lower-case letters, digits and -, up to 63 characters, starting and ending alphanumeric" });

/** Kubernetes resource.Quantity, e.g. "50Gi", "500m", "1". */
const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$/, { message: "not a Kubernetes quantity|quantities like 50Gi, 512Mi, 250m, 2" });

/** A Pulumi config key holding a secret (set with `pulumi config set --secret KEY ...`). */
const secretKey = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, { message: "not a Pulumi config key|a key name such as remoteWritePassword (set with pulumi config set --secret)" });

const tolerationSchema = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(["Exists", "Equal"]).default("Equal"),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
});
export type TolerationConfig = z.infer<typeof tolerationSchema>;

const gpuNodesSchema = z
  .strictObject({
    /** Labels that select GPU nodes; the GPU operator's feature discovery sets this one. */
    nodeSelector: z.record(z.string(), z.string()).default({ "nvidia.com/gpu.present": "true" }),
    /** GPU nodes are commonly tainted so that only GPU pods land there. */
    tolerations: z
      .array(tolerationSchema)
      .default([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]),
    /** e.g. "nvidia" where the NVIDIA container runtime is not the node default. */
    runtimeClassName: dnsLabel.optional(),
    /** kubelet's pod-resources socket directory, mounted read-only into the DCGM exporter. */
    podResourcesPath: hostPath().default("/var/lib/kubelet/pod-resources"),
  })
  .prefault({});

const storageSchema = z
  .strictObject({
    /** StorageClass for every PVC; unset uses the cluster's default class. */
    storageClassName: dnsLabel.optional(),
    prometheus: quantity.default("50Gi"),
    alertmanager: quantity.default("2Gi"),
    grafana: quantity.default("5Gi"),
  })
  .prefault({});

const basicAuthSchema = z.strictObject({
  username: z.string().min(1),
  passwordSecretKey: secretKey,
});

const remoteWriteSchema = z
  .strictObject({
    /** Remote-write endpoint: Thanos receive, Mimir, Cortex, VictoriaMetrics, any Prometheus remote-write receiver. */
    url: credentialFreeUrl("use basicAuth.passwordSecretKey or bearerTokenSecretKey, which name Pulumi secrets"),
    name: dnsLabel.optional(),
    basicAuth: basicAuthSchema.optional(),
    bearerTokenSecretKey: secretKey.optional(),
  })
  .refine((rw) => !(rw.basicAuth && rw.bearerTokenSecretKey), {
    message: "basicAuth and bearerTokenSecretKey are both set|one of basicAuth or bearerTokenSecretKey",
    path: ["bearerTokenSecretKey"],
  });
export type RemoteWriteConfig = z.infer<typeof remoteWriteSchema>;

const prometheusSchema = z
  .strictObject({
    /** 2 gives HA: two identical scrapers, told apart by the external `replicaLabel`. */
    replicas: z.int().min(1).max(10).default(1),
    /** External label carrying the pod name, so a long-term store can deduplicate HA pairs. */
    replicaLabel: z
      .string()
      .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { message: "not a Prometheus label name|[a-zA-Z_][a-zA-Z0-9_]*" })
      .default("replica"),
    remoteWrite: z.array(remoteWriteSchema).default([]),
  })
  .prefault({});

const alertmanagerSchema = z
  .strictObject({
    /** More than 1 forms a gossip cluster through a headless Service and --cluster.peer. */
    replicas: z.int().min(1).max(7).default(1),
  })
  .prefault({});

const ingressSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    host: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: "not a DNS host name|a host name such as grafana.example.org" }).optional(),
    ingressClassName: dnsLabel.optional(),
    /** Secret holding the TLS certificate for `host` (e.g. issued by cert-manager). */
    tlsSecretName: dnsLabel.optional(),
    annotations: z.record(z.string(), z.string()).default({}),
  })
  .refine((i) => !i.enabled || i.host !== undefined, {
    message: "an enabled Grafana ingress needs a host|a DNS host name such as grafana.example.org",
    path: ["host"],
  })
  .prefault({});

const grafanaSchema = z.strictObject({ ingress: ingressSchema }).prefault({});

const resourcesSchema = z.strictObject({
  cpuRequest: quantity.optional(),
  memoryRequest: quantity.optional(),
  cpuLimit: quantity.optional(),
  memoryLimit: quantity.optional(),
});
export type ResourceOverride = z.infer<typeof resourcesSchema>;

/** `kubernetes.resources.<service>` for each registered service. */
function resourcesPerServiceSchema(services: readonly string[]) {
  const shape = Object.fromEntries(services.map((s) => [s, resourcesSchema.optional()])) as { [K in BuiltinServiceName]: z.ZodOptional<typeof resourcesSchema> } & Record<
    string,
    z.ZodOptional<typeof resourcesSchema>
  >;
  return z.strictObject(shape).prefault({});
}

/**
 * How our exporter runs: a Deployment for cluster-wide sources (the DRM API), a DaemonSet on GPU
 * nodes for node-local ones (DS01's state files and Docker socket), or both, each with only its
 * own sources. `auto` picks from the exporter's configured sources.
 */
const exporterWorkloadsSchema = z.enum(["auto", "deployment", "daemonSet", "both"]).default("auto");
export type ExporterWorkloads = z.infer<typeof exporterWorkloadsSchema>;

const kubernetesObject = (services: readonly string[]) => z.strictObject({
  namespace: dnsLabel.default("monitoring"),
  /** false when the namespace is managed elsewhere (it must exist before `pulumi up`). */
  createNamespace: z.boolean().default(true),
  storage: storageSchema,
  gpuNodes: gpuNodesSchema,
  prometheus: prometheusSchema,
  alertmanager: alertmanagerSchema,
  grafana: grafanaSchema,
  exporterWorkloads: exporterWorkloadsSchema,
  /** Per-component requests/limits, overriding the service defaults field by field. */
  resources: resourcesPerServiceSchema(services),
  /** NetworkPolicies need a CNI that enforces them (Calico, Cilium, ...); harmless where none does. */
  networkPolicies: z.boolean().default(true),
  /**
   * Write manifests under this directory instead of applying them (GitOps). Nothing is created in
   * a cluster; Secrets are written in plain base64, so keep the directory out of public repositories.
   */
  renderYamlToDirectory: outputDir.optional(),
  /** kubeconfig context to deploy to; unset uses the current context. */
  context: z.string().min(1).optional(),
});

/** The `kubernetes` settings of a stack whose services are these (their `kubernetes.resources.<service>` keys). */
export function kubernetesSchemaFor(services: readonly string[]) {
  const object = kubernetesObject(services);
  return object.default(() => object.parse({}));
}

/** The `kubernetes` settings with the built-in services. */
export const kubernetesSchema = kubernetesSchemaFor(Object.keys(STACK_JOB_NAMES));
export type KubernetesConfig = z.infer<typeof kubernetesSchema>;
