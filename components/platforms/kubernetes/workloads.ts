import type * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import { parse } from "yaml";
import type { ServiceName, ServiceSpec } from "../../spec";
import type { KubernetesConfig } from "./config";
import { sdRolesUsed, type KubernetesSdConfig } from "./discovery";
import { fileObjects } from "./files";
import { PART_OF, PART_OF_LABEL, objectLabels, selectorLabels } from "./labels";
import type { Manifest, ManifestOf } from "./manifest";
import { egressPolicyFor, namespacePolicies, networkPolicyFor, type EgressPorts } from "./network";
import { podTemplate, type NodePlacement } from "./pod";
import { discoveryRules } from "./rbac";

/**
 * Every Kubernetes object of the stack, as plain data, from the service specs and the Kubernetes
 * settings. Pure: the same input gives the same objects, so tests and `render` see exactly what
 * `pulumi up` applies.
 */
export interface ManifestInput {
  /** Cluster specs of the running services (kubernetesServiceSpecs); Prometheus' carries the discovery config. */
  readonly specs: readonly ServiceSpec[];
  readonly kubernetes: KubernetesConfig;
  /** The value of a secret named in a spec (a Pulumi secret in the program). */
  readonly secretValue: (key: string) => pulumi.Input<string>;
  /** Ports each service may reach beyond the namespace (egressPorts); none when left out. */
  readonly egress?: EgressPorts;
}

/** Alertmanager's gossip port (its default). */
export const ALERTMANAGER_CLUSTER_PORT = 9094;
/** Where kubelet's pod-resources socket is mounted in the DCGM exporter (its documented path). */
const POD_RESOURCES_MOUNT = "/var/lib/kubelet/pod-resources";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type EnvVar = k8s.types.input.core.v1.EnvVar;
const fieldEnv = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });

export function headlessServiceName(workloadName: string): string {
  return `${workloadName}-headless`;
}

/** `--flag=value` args with the given flag names removed. */
function withoutFlags(args: readonly string[], prefixes: readonly string[]): string[] {
  return args.filter((a) => !prefixes.some((p) => a === p || a.startsWith(`${p}=`)));
}

/** Major version of an image tag like `v2.53.0`; undefined for digests or unknown tags. */
function imageMajor(image: string): number | undefined {
  const m = /:v?(\d+)\.\d+/.exec(image.split("@")[0] ?? "");
  return m ? Number(m[1]) : undefined;
}

/** Kubernetes SD configs in a rendered prometheus.yml (scrape jobs and Alertmanager discovery). */
export function discoveryConfigsOf(prometheusYml: string): { kubernetes_sd_configs?: KubernetesSdConfig[] }[] {
  const doc = (parse(prometheusYml) ?? {}) as {
    scrape_configs?: { kubernetes_sd_configs?: KubernetesSdConfig[] }[];
    alerting?: { alertmanagers?: { kubernetes_sd_configs?: KubernetesSdConfig[] }[] };
  };
  return [...(doc.scrape_configs ?? []), ...(doc.alerting?.alertmanagers ?? [])];
}

function prometheusYmlOf(spec: ServiceSpec): string {
  const file = spec.configFiles.find((f) => f.path.endsWith("/prometheus.yml"));
  if (!file) throw new Error("prometheus: the spec has no prometheus.yml config file");
  return file.content;
}

interface Workload {
  readonly kind: "StatefulSet" | "Deployment" | "DaemonSet";
  readonly name: string;
  readonly spec: ServiceSpec;
  readonly placement: NodePlacement;
  readonly replicas: number;
}

/**
 * The workload that runs a spec. Prometheus and Alertmanager keep per-replica state, so they are
 * StatefulSets; everything else follows the spec's placement. Grafana runs one replica: its
 * SQLite database lives on a ReadWriteOnce volume.
 */
function workloadOf(spec: ServiceSpec, kc: KubernetesConfig): Workload {
  const name = spec.resourceName;
  switch (spec.name) {
    case "prometheus":
      return { kind: "StatefulSet", name, spec, placement: "anyNode", replicas: kc.prometheus.replicas };
    case "alertmanager":
      return { kind: "StatefulSet", name, spec, placement: "anyNode", replicas: kc.alertmanager.replicas };
    case "dcgmExporter":
      return { kind: "DaemonSet", name, spec: withPodResources(spec, kc), placement: "gpuNodes", replicas: 1 };
    default:
      switch (spec.placement) {
        case "perNode":
          return { kind: "DaemonSet", name, spec, placement: "allNodes", replicas: 1 };
        case "gpuNodes":
          return { kind: "DaemonSet", name, spec, placement: "gpuNodes", replicas: 1 };
        case "cluster":
          return { kind: "Deployment", name, spec, placement: "anyNode", replicas: 1 };
      }
  }
}

/** DCGM exporter maps GPUs to pods through kubelet's pod-resources API, read-only. */
function withPodResources(spec: ServiceSpec, kc: KubernetesConfig): ServiceSpec {
  const mounts = spec.hostMounts.filter((m) => m.mountPath !== POD_RESOURCES_MOUNT);
  return {
    ...spec,
    env: { ...spec.env, DCGM_EXPORTER_KUBERNETES: "true" },
    hostMounts: [...mounts, { hostPath: kc.gpuNodes.podResourcesPath, mountPath: POD_RESOURCES_MOUNT, readOnly: true }],
  };
}

function storageFor(service: ServiceName, kc: KubernetesConfig, requested: string | undefined): string {
  if (service === "prometheus") return kc.storage.prometheus;
  if (service === "alertmanager") return kc.storage.alertmanager;
  if (service === "grafana") return kc.storage.grafana;
  return requested ?? "1Gi";
}

function pvcSpec(size: string, kc: KubernetesConfig): k8s.types.input.core.v1.PersistentVolumeClaimSpec {
  return {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: size } },
    ...(kc.storage.storageClassName ? { storageClassName: kc.storage.storageClassName } : {}),
  };
}

/** What every service's objects depend on besides its own spec. */
export interface ManifestContext {
  readonly kubernetes: KubernetesConfig;
  readonly secretValue: (key: string) => pulumi.Input<string>;
  /** Services running in the stack, for the NetworkPolicies. */
  readonly enabled: ReadonlySet<ServiceName>;
  /** Ports each service may reach beyond the namespace. */
  readonly egress: EgressPorts;
}

export function namespaceManifest(kc: KubernetesConfig): ManifestOf<"Namespace"> {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: kc.namespace, labels: { [PART_OF_LABEL]: PART_OF } } };
}

/**
 * Every object of one cluster spec: its ConfigMaps and Secret, its workload (with PVCs, or claim
 * templates), its Services, RBAC for Prometheus, its NetworkPolicy and Grafana's Ingress. A
 * service's objects are exactly these, so turning the service off removes all of them.
 */
export function serviceManifests(spec: ServiceSpec, ctx: ManifestContext): Manifest[] {
  if (!DNS_LABEL.test(spec.resourceName) || spec.resourceName.length > 52) {
    throw new Error(`${spec.name}: resource name ${JSON.stringify(spec.resourceName)} is not a DNS label of at most 52 characters`);
  }
  const kc = ctx.kubernetes;
  const out = workloadObjects(workloadOf(spec, kc), ctx);
  if (kc.networkPolicies) {
    // Every service carries the namespace's baseline; whoever creates objects keeps one of each name.
    out.push(...namespacePolicies(kc.namespace));
    if (spec.ports.length > 0) {
      out.push(
        networkPolicyFor(spec, {
          namespace: kc.namespace,
          enabled: ctx.enabled,
          grafanaIngress: kc.grafana.ingress.enabled,
          ...(kc.alertmanager.replicas > 1 ? { alertmanagerClusterPort: ALERTMANAGER_CLUSTER_PORT } : {}),
        }),
      );
    }
    const egress = egressPolicyFor(spec, kc.namespace, ctx.egress);
    if (egress) out.push(egress);
  }
  return out.map(unshared);
}

/**
 * A copy in which no plain object or array is reachable twice (labels, selectors and metadata
 * are built once and used in several places), so rendered YAML has no anchors or aliases.
 * Anything else (a Pulumi Output holding a secret) is kept as it is.
 */
function unshared<T>(value: T): T {
  if (Array.isArray(value)) return value.map(unshared) as T;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unshared(v)])) as T;
  }
  return value;
}

/** Every object of a stack from its cluster specs (kubernetesServiceSpecs), namespace first. */
export function buildManifests(input: ManifestInput): Manifest[] {
  const kc = input.kubernetes;
  const names = new Set<string>();
  for (const s of input.specs) {
    if (names.has(s.resourceName)) throw new Error(`${s.name}: two specs share the resource name ${s.resourceName}`);
    names.add(s.resourceName);
  }
  const ctx: ManifestContext = { kubernetes: kc, secretValue: input.secretValue, enabled: new Set(input.specs.map((s) => s.name)), egress: input.egress ?? {} };
  const out: Manifest[] = kc.createNamespace ? [namespaceManifest(kc)] : [];
  // Both exporter workloads share one NetworkPolicy (it selects by component).
  const policies = new Set<string>();
  for (const spec of input.specs) {
    for (const m of serviceManifests(spec, ctx)) {
      if (m.kind === "NetworkPolicy") {
        if (policies.has(m.metadata.name)) continue;
        policies.add(m.metadata.name);
      }
      out.push(m);
    }
  }
  return out;
}

function workloadObjects(w: Workload, input: Omit<ManifestContext, "enabled">): Manifest[] {
  const kc = input.kubernetes;
  const ns = kc.namespace;
  const { spec, name } = w;
  const labels = objectLabels(spec.name, name, spec.labels);
  const selector = { matchLabels: selectorLabels(spec.name, name) };
  const files = fileObjects(spec, name, ns, labels, input.secretValue);
  const out: Manifest[] = [...files.configMaps, ...(files.secret ? [files.secret] : [])];

  let args = [...spec.args];
  const extraEnv: EnvVar[] = [];
  const extraPorts: k8s.types.input.core.v1.ContainerPort[] = [];
  let serviceAccountName: string | undefined;

  if (spec.name === "prometheus") {
    serviceAccountName = name;
    extraEnv.push(fieldEnv("POD_NAME", "metadata.name"));
    // Prometheus 3 expands ${POD_NAME} in external labels by default; 2.x needs the flag.
    const major = imageMajor(spec.image);
    if (major !== undefined && major < 3 && !args.some((a) => a.includes("expand-external-labels"))) {
      args.push("--enable-feature=expand-external-labels");
    }
    out.push(...prometheusRbac(name, ns, labels, prometheusYmlOf(spec)));
  }
  if (spec.name === "alertmanager") {
    args = withoutFlags(args, ["--cluster.listen-address", "--cluster.advertise-address", "--cluster.peer"]);
    if (w.replicas > 1) {
      extraEnv.push(fieldEnv("POD_IP", "status.podIP"));
      const headless = headlessServiceName(name);
      args.push(`--cluster.listen-address=0.0.0.0:${ALERTMANAGER_CLUSTER_PORT}`);
      args.push(`--cluster.advertise-address=$(POD_IP):${ALERTMANAGER_CLUSTER_PORT}`);
      for (let i = 0; i < w.replicas; i++) args.push(`--cluster.peer=${name}-${i}.${headless}.${ns}.svc:${ALERTMANAGER_CLUSTER_PORT}`);
      extraPorts.push({ name: "mesh-tcp", containerPort: ALERTMANAGER_CLUSTER_PORT, protocol: "TCP" });
      extraPorts.push({ name: "mesh-udp", containerPort: ALERTMANAGER_CLUSTER_PORT, protocol: "UDP" });
    } else {
      // An empty listen address turns gossip off for a single replica.
      args.push("--cluster.listen-address=");
    }
  }

  const template = podTemplate({
    spec,
    workloadName: name,
    files,
    placement: w.placement,
    kubernetes: kc,
    args,
    extraEnv,
    extraPorts,
    ...(serviceAccountName ? { serviceAccountName } : {}),
  });
  const metadata = { name, namespace: ns, labels };

  switch (w.kind) {
    case "StatefulSet": {
      const headless = headlessServiceName(name);
      out.push({
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata,
        spec: {
          serviceName: headless,
          replicas: w.replicas,
          // Replicas are independent (HA Prometheus) or find each other later (Alertmanager gossip).
          podManagementPolicy: "Parallel",
          // Kubernetes' default, written out: the claims (the TSDB, silences) outlive the StatefulSet.
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
          selector,
          template,
          volumeClaimTemplates: spec.dataVolumes.map((d) => ({
            metadata: { name: d.name, labels: { ...labels } },
            spec: pvcSpec(storageFor(spec.name, kc, d.size), kc),
          })),
        },
      });
      out.push(headlessService(w, ns, labels, extraPorts));
      if (w.replicas > 1) out.push(disruptionBudget(name, ns, labels, selector));
      break;
    }
    case "Deployment": {
      const claims = spec.dataVolumes.map((d) => ({ volume: d.name, claim: `${name}-${d.name}`, size: storageFor(spec.name, kc, d.size) }));
      for (const c of claims) {
        out.push({
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          // Pulumi would wait for the claim to bind, which never happens before its pod exists on
          // storage classes that bind on first use (WaitForFirstConsumer).
          metadata: { name: c.claim, namespace: ns, labels, annotations: { "pulumi.com/skipAwait": "true" } },
          spec: pvcSpec(c.size, kc),
        });
      }
      const podSpec = template.spec as k8s.types.input.core.v1.PodSpec;
      out.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata,
        spec: {
          replicas: w.replicas,
          // A ReadWriteOnce volume cannot be attached to the old and the new pod at once.
          strategy: claims.length ? { type: "Recreate" } : { type: "RollingUpdate" },
          selector,
          template: {
            ...template,
            spec: {
              ...podSpec,
              volumes: [
                ...((podSpec.volumes as k8s.types.input.core.v1.Volume[]) ?? []),
                ...claims.map((c) => ({ name: c.volume, persistentVolumeClaim: { claimName: c.claim } })),
              ],
            },
          },
        },
      });
      break;
    }
    case "DaemonSet": {
      const podSpec = template.spec as k8s.types.input.core.v1.PodSpec;
      out.push({
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata,
        spec: {
          selector,
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
          template: {
            ...template,
            spec: {
              ...podSpec,
              // Per-node data is a cache of what the node itself holds; it need not outlive the pod.
              volumes: [
                ...((podSpec.volumes as k8s.types.input.core.v1.Volume[]) ?? []),
                ...spec.dataVolumes.map((d) => ({ name: d.name, emptyDir: {} })),
              ],
            },
          },
        },
      });
      break;
    }
  }

  if (spec.ports.length > 0) {
    out.push({
      apiVersion: "v1",
      kind: "Service",
      metadata,
      spec: {
        type: "ClusterIP",
        selector: selector.matchLabels,
        ports: spec.ports.map((p) => ({ name: p.name, port: p.containerPort, targetPort: p.name, protocol: "TCP" })),
      },
    });
  }
  if (spec.name === "grafana" && kc.grafana.ingress.enabled) out.push(grafanaIngress(spec, name, ns, labels, kc));
  return out;
}

function headlessService(w: Workload, namespace: string, labels: Record<string, string>, extraPorts: readonly k8s.types.input.core.v1.ContainerPort[]): ManifestOf<"Service"> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: headlessServiceName(w.name), namespace, labels },
    spec: {
      clusterIP: "None",
      // Alertmanager peers must find each other before they are ready.
      publishNotReadyAddresses: true,
      selector: selectorLabels(w.spec.name, w.name),
      ports: [
        ...w.spec.ports.map((p) => ({ name: p.name, port: p.containerPort, targetPort: p.name, protocol: "TCP" })),
        ...extraPorts.map((p) => ({ name: p.name, port: p.containerPort, targetPort: p.containerPort, protocol: p.protocol })),
      ],
    },
  };
}

function disruptionBudget(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  selector: { matchLabels: Record<string, string> },
): ManifestOf<"PodDisruptionBudget"> {
  return { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name, namespace, labels }, spec: { maxUnavailable: 1, selector } };
}

function prometheusRbac(name: string, namespace: string, labels: Record<string, string>, prometheusYml: string): Manifest[] {
  const rules = discoveryRules(sdRolesUsed(discoveryConfigsOf(prometheusYml)));
  const meta = { name, namespace, labels };
  return [
    // The pod asks for the token itself; other pods using this account would not get one.
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta, automountServiceAccountToken: false },
    ...(rules.length
      ? ([
          { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta, rules },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: meta,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
            subjects: [{ kind: "ServiceAccount", name, namespace }],
          },
        ] satisfies Manifest[])
      : []),
  ];
}

function grafanaIngress(spec: ServiceSpec, name: string, namespace: string, labels: Record<string, string>, kc: KubernetesConfig): ManifestOf<"Ingress"> {
  const ing = kc.grafana.ingress;
  const host = ing.host as string;
  const port = spec.ports[0];
  if (!port) throw new Error("grafana: the spec has no port for the ingress");
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace, labels, annotations: { ...ing.annotations } },
    spec: {
      ...(ing.ingressClassName ? { ingressClassName: ing.ingressClassName } : {}),
      ...(ing.tlsSecretName ? { tls: [{ hosts: [host], secretName: ing.tlsSecretName }] } : {}),
      rules: [
        {
          host,
          http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { name: port.name } } } }] },
        },
      ],
    },
  };
}
