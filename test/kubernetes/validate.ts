import { Namespace } from "kubernetes-models/v1/Namespace";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { K8sObject } from "./harness";

/**
 * Validation of declared objects: the Kubernetes OpenAPI schema (kubernetes-models 4.5.1, which
 * compiles it to validators) plus the API server's own validation rules that the OpenAPI schema
 * cannot express and that a cluster would reject the object for.
 */

type Model = { validate(): void };
const MODELS: Readonly<Record<string, (o: never) => Model>> = {
  Namespace: (o) => new Namespace(o),
  ServiceAccount: (o) => new ServiceAccount(o),
  ConfigMap: (o) => new ConfigMap(o),
  Secret: (o) => new Secret(o),
  Service: (o) => new Service(o),
  PersistentVolumeClaim: (o) => new PersistentVolumeClaim(o),
  StatefulSet: (o) => new StatefulSet(o),
  Deployment: (o) => new Deployment(o),
  DaemonSet: (o) => new DaemonSet(o),
  Role: (o) => new Role(o),
  RoleBinding: (o) => new RoleBinding(o),
  ClusterRole: (o) => new ClusterRole(o),
  ClusterRoleBinding: (o) => new ClusterRoleBinding(o),
  NetworkPolicy: (o) => new NetworkPolicy(o),
  Ingress: (o) => new Ingress(o),
  PodDisruptionBudget: (o) => new PodDisruptionBudget(o),
};

/** Schema problems of one object ("" when valid); throws for a kind with no model here. */
export function schemaProblem(o: K8sObject): string {
  const model = MODELS[o.kind];
  if (!model) throw new Error(`no schema model for kind ${o.kind}`);
  try {
    model(structuredClone(o) as never).validate();
    return "";
  } catch (err) {
    return `${o.kind}/${o.metadata.name}: ${(err as Error).message}`;
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** Kinds whose names must be DNS-1035/1123 labels (Services, Namespaces), not just subdomains. */
const LABEL_NAMED = new Set(["Namespace", "Service"]);

interface Container {
  name: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
  securityContext?: { allowPrivilegeEscalation?: boolean; privileged?: boolean; capabilities?: { add?: string[] } };
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string }[];
  hostNetwork?: boolean;
}

function labelProblems(where: string, labels: Record<string, string> | undefined): string[] {
  return Object.entries(labels ?? {}).flatMap(([k, v]) => [
    ...(LABEL_KEY.test(k) && k.split("/").pop()!.length <= 63 ? [] : [`${where}: label key ${k} is invalid`]),
    ...(LABEL_VALUE.test(v) && v.length <= 63 ? [] : [`${where}: label ${k} value ${JSON.stringify(v)} is invalid`]),
  ]);
}

function podProblems(where: string, pod: PodSpec, claimTemplates: readonly string[]): string[] {
  const out: string[] = [];
  const volumes = (pod.volumes ?? []).map((v) => v.name);
  if (new Set(volumes).size !== volumes.length) out.push(`${where}: duplicate volume names ${volumes.join(",")}`);
  for (const v of volumes) if (!DNS_LABEL.test(v)) out.push(`${where}: volume name ${v} is not a DNS label`);
  const defined = new Set([...volumes, ...claimTemplates]);
  for (const c of pod.containers) {
    if (!DNS_LABEL.test(c.name) || c.name.length > 63) out.push(`${where}: container name ${c.name} is not a DNS label`);
    const portNames = (c.ports ?? []).flatMap((p) => (p.name ? [p.name] : []));
    if (new Set(portNames).size !== portNames.length) out.push(`${where}: duplicate port names`);
    for (const n of portNames) if (!IANA_SVC_NAME.test(n) || n.length > 15) out.push(`${where}: port name ${n} is not an IANA service name`);
    const mountPaths = (c.volumeMounts ?? []).map((m) => m.mountPath);
    if (new Set(mountPaths).size !== mountPaths.length) out.push(`${where}: two mounts at one path`);
    for (const m of c.volumeMounts ?? []) if (!defined.has(m.name)) out.push(`${where}: mount of undefined volume ${m.name}`);
    const sc = c.securityContext;
    // Rejected by the API server (ValidateSecurityContext): no_new_privs with privileged, or with a
    // capability spelled exactly CAP_SYS_ADMIN (the spelling SYS_ADMIN passes).
    if (sc?.allowPrivilegeEscalation === false && (sc.privileged || (sc.capabilities?.add ?? []).includes("CAP_SYS_ADMIN"))) {
      out.push(`${where}: allowPrivilegeEscalation=false with CAP_SYS_ADMIN or privileged`);
    }
  }
  return out;
}

/** Kinds that live outside any namespace. */
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding"]);

/** API-server validation rules beyond the OpenAPI schema, for the fields this stack uses. */
export function apiServerProblems(o: K8sObject): string[] {
  const where = `${o.kind}/${o.metadata.name}`;
  const out: string[] = [];
  const name = o.metadata.name;
  const nameOk = LABEL_NAMED.has(o.kind) ? DNS_LABEL.test(name) && name.length <= 63 : DNS_SUBDOMAIN.test(name) && name.length <= 253;
  if (!nameOk) out.push(`${where}: invalid name`);
  if (CLUSTER_SCOPED.has(o.kind)) {
    if (o.metadata.namespace) out.push(`${where}: a cluster-scoped object with a namespace`);
  } else if (!o.metadata.namespace) out.push(`${where}: no namespace`);
  if (o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding") {
    // A ServiceAccount subject is looked up in the namespace it names; without one, nothing is bound.
    const subjects = (o["subjects"] ?? []) as { kind: string; namespace?: string }[];
    for (const sub of subjects) if (sub.kind === "ServiceAccount" && !sub.namespace) out.push(`${where}: a ServiceAccount subject without a namespace`);
    const ref = o["roleRef"] as { kind?: string } | undefined;
    if (o.kind === "ClusterRoleBinding" && ref?.kind !== "ClusterRole") out.push(`${where}: binds a ${ref?.kind ?? "nothing"}, not a ClusterRole`);
  }
  out.push(...labelProblems(where, o.metadata.labels));
  if (o.kind === "ConfigMap" || o.kind === "Secret") {
    const data = (o["data"] ?? o["stringData"] ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(data)) if (!CONFIG_KEY.test(k)) out.push(`${where}: data key ${k} is invalid`);
    if (o.kind === "ConfigMap") {
      const bytes = Object.values(data).reduce<number>((n, v) => n + Buffer.byteLength(String(v)), 0);
      if (bytes > 1024 * 1024) out.push(`${where}: ${bytes} bytes, over the 1 MiB object limit`);
    }
  }
  if (o.kind === "Service") {
    const spec = o["spec"] as { ports?: { name?: string; port: number; protocol?: string }[] };
    const names = (spec.ports ?? []).map((p) => p.name ?? "");
    if ((spec.ports ?? []).length > 1 && (names.some((n) => !n) || new Set(names).size !== names.length)) {
      out.push(`${where}: ports of a multi-port Service need unique names`);
    }
    const keys = (spec.ports ?? []).map((p) => `${p.port}/${p.protocol ?? "TCP"}`);
    if (new Set(keys).size !== keys.length) out.push(`${where}: duplicate port/protocol`);
  }
  if (["StatefulSet", "Deployment", "DaemonSet"].includes(o.kind)) {
    const spec = o["spec"] as {
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
      volumeClaimTemplates?: { metadata: { name: string } }[];
    };
    const labels = spec.template.metadata.labels ?? {};
    for (const [k, v] of Object.entries(spec.selector.matchLabels)) {
      if (labels[k] !== v) out.push(`${where}: selector ${k}=${v} does not match the template's labels`);
    }
    out.push(...labelProblems(`${where} template`, labels));
    out.push(...podProblems(where, spec.template.spec, (spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name)));
  }
  return out;
}
