import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/**
 * A Kubernetes object as plain data. The builders return these; the component turns each into
 * the matching typed @pulumi/kubernetes resource, and tests validate them against the API schema.
 * Field types are the provider's input types, so a misspelt field is a compile error.
 */
type Meta = k8s.types.input.meta.v1.ObjectMeta & { name: string };


export type Manifest =
  | { apiVersion: "v1"; kind: "Namespace"; metadata: Meta }
  | { apiVersion: "v1"; kind: "ServiceAccount"; metadata: Meta; automountServiceAccountToken?: boolean }
  | { apiVersion: "v1"; kind: "ConfigMap"; metadata: Meta; data: Record<string, string> }
  | { apiVersion: "v1"; kind: "Secret"; metadata: Meta; type: string; stringData: Record<string, pulumi.Input<string>> }
  | { apiVersion: "v1"; kind: "Service"; metadata: Meta; spec: k8s.types.input.core.v1.ServiceSpec }
  | { apiVersion: "v1"; kind: "PersistentVolumeClaim"; metadata: Meta; spec: k8s.types.input.core.v1.PersistentVolumeClaimSpec }
  | { apiVersion: "apps/v1"; kind: "StatefulSet"; metadata: Meta; spec: k8s.types.input.apps.v1.StatefulSetSpec }
  | { apiVersion: "apps/v1"; kind: "Deployment"; metadata: Meta; spec: k8s.types.input.apps.v1.DeploymentSpec }
  | { apiVersion: "apps/v1"; kind: "DaemonSet"; metadata: Meta; spec: k8s.types.input.apps.v1.DaemonSetSpec }
  | { apiVersion: "rbac.authorization.k8s.io/v1"; kind: "Role"; metadata: Meta; rules: k8s.types.input.rbac.v1.PolicyRule[] }
  | {
      apiVersion: "rbac.authorization.k8s.io/v1";
      kind: "RoleBinding";
      metadata: Meta;
      roleRef: k8s.types.input.rbac.v1.RoleRef;
      subjects: k8s.types.input.rbac.v1.Subject[];
    }
  | { apiVersion: "rbac.authorization.k8s.io/v1"; kind: "ClusterRole"; metadata: Meta; rules: k8s.types.input.rbac.v1.PolicyRule[] }
  | {
      apiVersion: "rbac.authorization.k8s.io/v1";
      kind: "ClusterRoleBinding";
      metadata: Meta;
      roleRef: k8s.types.input.rbac.v1.RoleRef;
      subjects: k8s.types.input.rbac.v1.Subject[];
    }
  | { apiVersion: "networking.k8s.io/v1"; kind: "NetworkPolicy"; metadata: Meta; spec: k8s.types.input.networking.v1.NetworkPolicySpec }
  | { apiVersion: "networking.k8s.io/v1"; kind: "Ingress"; metadata: Meta; spec: k8s.types.input.networking.v1.IngressSpec }
  | { apiVersion: "policy/v1"; kind: "PodDisruptionBudget"; metadata: Meta; spec: k8s.types.input.policy.v1.PodDisruptionBudgetSpec };

export type ManifestKind = Manifest["kind"];
export type ManifestOf<K extends ManifestKind> = Extract<Manifest, { kind: K }>;

