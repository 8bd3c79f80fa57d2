import type * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import type { ApiAccess, KubernetesNeeds, KubernetesWorkload, PodAdditions } from "../../services/descriptor";
import { serviceDescriptor } from "../../services/registry";
import type { ServiceName, ServiceSpec } from "../../spec";
import type { KubernetesConfig } from "./config";
import { fileObjects } from "./files";
import { PART_OF, PART_OF_LABEL, headlessServiceName, objectLabels, selectorLabels } from "./labels";
import type { Manifest, ManifestOf } from "./manifest";
import { egressPolicyFor, namespacePolicies, networkPolicyFor, type EgressPorts } from "./network";
import { podTemplate, type NodePlacement } from "./pod";

export { ALERTMANAGER_CLUSTER_PORT, discoveryConfigsOf } from "../../services";

/**
 * Every Kubernetes object of the stack, as plain data, from the service specs and the Kubernetes
 * settings. Pure: the same input gives the same objects, so tests and `render` see exactly what
 * `pulumi up` applies. What a service needs beyond the standard objects (a StatefulSet, API
 * access, gossip peers, an Ingress) comes from its descriptor's `kubernetes` section.
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

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface Workload {
  readonly kind: "StatefulSet" | "Deployment" | "DaemonSet";
  readonly name: string;
  readonly spec: ServiceSpec;
  readonly placement: NodePlacement;
  readonly replicas: number;
  readonly needs: KubernetesNeeds;
}

/**
 * The workload that runs a spec: the kind its descriptor names (StatefulSets for per-replica
 * state), else the spec's placement: one pod per node, per GPU node, or a Deployment.
 */
function workloadOf(spec: ServiceSpec, kc: KubernetesConfig): Workload {
  const needs = serviceDescriptor(spec.name).kubernetes ?? {};
  const name = spec.resourceName;
  const placed: Pick<Workload, "kind" | "placement"> =
    spec.placement === "perNode"
      ? { kind: "DaemonSet", placement: "allNodes" }
      : spec.placement === "gpuNodes"
        ? { kind: "DaemonSet", placement: "gpuNodes" }
        : { kind: "Deployment", placement: "anyNode" };
  const kind = needs.workload ?? placed.kind;
  return {
    kind,
    name,
    spec,
    placement: needs.workload && needs.workload !== "DaemonSet" ? "anyNode" : placed.placement,
    replicas: kind === "DaemonSet" ? 1 : (needs.replicas?.(kc) ?? 1),
    needs,
  };
}

function storageFor(w: Workload, kc: KubernetesConfig, requested: string | undefined): string {
  return w.needs.storage?.(kc) ?? requested ?? "1Gi";
}

function hookView(w: Workload, kc: KubernetesConfig): KubernetesWorkload {
  return { spec: w.spec, name: w.name, namespace: kc.namespace, replicas: w.replicas, labels: objectLabels(w.spec.name, w.name, w.spec.labels), kubernetes: kc };
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
  const w = workloadOf(spec, kc);
  const additions = w.needs.pod?.(hookView(w, kc)) ?? {};
  const out = workloadObjects(w, additions, ctx);
  if (kc.networkPolicies) {
    // Every service carries the namespace's baseline; whoever creates objects keeps one of each name.
    out.push(...namespacePolicies(kc.namespace));
    if (spec.ports.length > 0) {
      out.push(
        networkPolicyFor(spec, {
          namespace: kc.namespace,
          enabled: ctx.enabled,
          from: w.needs.ingressFrom?.(kc) ?? ["prometheus"],
          peerPorts: additions.peerPorts ?? [],
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

function workloadObjects(w: Workload, additions: PodAdditions, input: Omit<ManifestContext, "enabled">): Manifest[] {
  const kc = input.kubernetes;
  const ns = kc.namespace;
  const { spec, name } = w;
  const labels = objectLabels(spec.name, name, spec.labels);
  const selector = { matchLabels: selectorLabels(spec.name, name) };
  const files = fileObjects(spec, name, ns, labels, input.secretValue);
  const out: Manifest[] = [...files.configMaps, ...(files.secret ? [files.secret] : [])];

  const args = [...(additions.args ?? spec.args)];
  const extraEnv = [...(additions.env ?? [])];
  const extraPorts = [...(additions.ports ?? [])];
  const access = w.needs.apiAccess?.(hookView(w, kc));
  if (access) out.push(...apiAccessObjects(name, ns, labels, access));
  const serviceAccountName = access ? name : undefined;

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
            spec: pvcSpec(storageFor(w, kc, d.size), kc),
          })),
        },
      });
      out.push(headlessService(w, ns, labels, extraPorts));
      if (w.replicas > 1) out.push(disruptionBudget(name, ns, labels, selector));
      break;
    }
    case "Deployment": {
      const claims = spec.dataVolumes.map((d) => ({ volume: d.name, claim: `${name}-${d.name}`, size: storageFor(w, kc, d.size) }));
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
  out.push(...(w.needs.extraObjects?.(hookView(w, kc)) ?? []));
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

const RBAC = "rbac.authorization.k8s.io";

/**
 * A ServiceAccount for the workload's pods (the pod asks for the token itself; other pods using
 * the account get none), and a Role / ClusterRole with its binding for each kind of rule given.
 * Cluster-scoped objects are named after the namespace too, so two stacks do not collide.
 */
function apiAccessObjects(name: string, namespace: string, labels: Record<string, string>, access: ApiAccess): Manifest[] {
  const meta = { name, namespace, labels };
  const subjects = [{ kind: "ServiceAccount", name, namespace }];
  const rules = (list: ApiAccess["namespaced"]) => (list ?? []).map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] }));
  const out: Manifest[] = [{ apiVersion: "v1", kind: "ServiceAccount", metadata: meta, automountServiceAccountToken: false }];
  if (access.namespaced?.length) {
    out.push(
      { apiVersion: `${RBAC}/v1`, kind: "Role", metadata: meta, rules: rules(access.namespaced) },
      { apiVersion: `${RBAC}/v1`, kind: "RoleBinding", metadata: meta, roleRef: { apiGroup: RBAC, kind: "Role", name }, subjects },
    );
  }
  if (access.cluster?.length) {
    const clusterMeta = { name: `${namespace}-${name}`, labels };
    out.push(
      { apiVersion: `${RBAC}/v1`, kind: "ClusterRole", metadata: clusterMeta, rules: rules(access.cluster) },
      {
        apiVersion: `${RBAC}/v1`,
        kind: "ClusterRoleBinding",
        metadata: clusterMeta,
        roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: clusterMeta.name },
        subjects,
      },
    );
  }
  return out;
}
