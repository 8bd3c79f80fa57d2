import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, type SecretValues, type StackConfig } from "../../config";
import { dataResourceOptions, type DeployedService, type ServicePlatform } from "../../platform";
import type { BundleOptions } from "../../render";
import { findServiceDescriptor, registeredServices, runsService } from "../../services";
import type { ServiceSpec } from "../../spec";
import type { Manifest } from "./manifest";
import { kubernetesConfigProblems } from "./checks";
import { egressPorts } from "./network";
import { clusterSpecs, kubernetesBundleOptions } from "./specs";
import { namespaceManifest, serviceManifests, type ManifestContext } from "./workloads";

export interface KubernetesPlatformArgs {
  readonly config: StackConfig;
  /** Secret values by key; a spec's secret files and env, and remote-write credentials, come from here. */
  readonly secrets: SecretValues;
  /** A provider to use instead of the one built from `kubernetes.context` / `renderYamlToDirectory`. */
  readonly provider?: k8s.Provider;
}

/** What the platform created for one service. */
export interface KubernetesService extends DeployedService {
  /** Every object of the service, by `Kind/name`. */
  readonly objects: Readonly<Record<string, pulumi.CustomResource>>;
}

/**
 * A Kubernetes cluster: one namespace (unless it exists already), and per service the objects
 * of serviceManifests, children of the service's component. Every object goes through one
 * provider: the kubeconfig context from the config, or, with `renderYamlToDirectory`, a provider
 * that writes manifests to that directory and creates nothing (GitOps).
 */
export class KubernetesPlatform extends pulumi.ComponentResource implements ServicePlatform<KubernetesService> {
  readonly kind = "kubernetes" as const;
  readonly bundleOptions: BundleOptions;
  readonly provider: k8s.Provider;
  readonly namespace?: k8s.core.v1.Namespace;
  readonly config: StackConfig;
  private readonly secrets: SecretValues;
  private readonly context: ManifestContext;
  /** Objects created so far, by kind/name: objects every service carries (the namespace's NetworkPolicies) are created once. */
  private readonly created = new Set<string>();

  constructor(name: string, args: KubernetesPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-monitoring:kubernetes:Platform", name, {}, opts);
    const problems = kubernetesConfigProblems(args.config);
    if (problems.length > 0) throw new ConfigError(problems);
    this.config = args.config;
    this.secrets = args.secrets;
    const kc = args.config.kubernetes;
    this.bundleOptions = kubernetesBundleOptions(args.config);
    this.provider =
      args.provider ??
      new k8s.Provider(
        `${name}-provider`,
        {
          ...(kc.context ? { context: kc.context } : {}),
          ...(kc.renderYamlToDirectory ? { renderYamlToDirectory: kc.renderYamlToDirectory } : {}),
          // Config and secret changes update the named objects in place; the pod template's
          // checksum annotation rolls the pods. (The default would replace them, and a named
          // object cannot be created before its old self is deleted.)
          enableConfigMapMutable: true,
          enableSecretMutable: true,
        },
        { parent: this },
      );
    this.context = {
      kubernetes: kc,
      secretValue: (key) => this.secret(key),
      enabled: new Set(registeredServices().filter((d) => runsService(args.config, d.name)).map((d) => d.name)),
      egress: egressPorts(args.config),
    };
    if (kc.createNamespace) {
      const ns = namespaceManifest(kc);
      // Deleting a namespace deletes every claim in it, StatefulSets' retained ones included.
      this.namespace = new k8s.core.v1.Namespace(
        `${name}-namespace`,
        { metadata: ns.metadata },
        { parent: this, provider: this.provider, ...dataResourceOptions(args.config.data) },
      );
    }
    this.registerOutputs({ namespace: kc.namespace });
  }

  deploy(spec: ServiceSpec, parent: pulumi.Resource): KubernetesService {
    const objects: Record<string, pulumi.CustomResource> = {};
    const opts: pulumi.CustomResourceOptions = {
      parent,
      provider: this.provider,
      ...(this.namespace ? { dependsOn: [this.namespace] } : {}),
    };
    const seen = this.created;
    for (const cs of clusterSpecs(this.config, spec)) {
      for (const m of serviceManifests(cs, this.context)) {
        const key = `${m.kind}/${m.metadata.name}`;
        // Both exporter workloads share the service's NetworkPolicies; every service carries the namespace's.
        if (seen.has(key)) continue;
        seen.add(key);
        objects[key] = createObject(`${m.kind.toLowerCase()}-${m.metadata.name}`, m, m.kind === "PersistentVolumeClaim" ? { ...opts, ...dataResourceOptions(this.config.data) } : opts);
      }
    }
    return { objects, url: pulumi.output(this.urlOf(spec)) };
  }

  /** In-cluster URL of the service (reach it with `kubectl port-forward`), or the one its descriptor gives (Grafana's Ingress). */
  private urlOf(spec: ServiceSpec): string {
    const own = findServiceDescriptor(spec.name)?.kubernetes?.url?.(this.config);
    if (own) return own;
    const port = spec.ports[0];
    return port ? `http://${spec.resourceName}.${this.config.kubernetes.namespace}.svc:${port.containerPort}` : "";
  }

  private secret(key: string): pulumi.Output<string> {
    const value = this.secrets[key];
    if (!value) throw new Error(`the secret ${key} is not set (pulumi config set --secret ${key} ...)`);
    return pulumi.secret(value);
  }
}

/** The typed @pulumi/kubernetes resource for a manifest. */
export function createObject(name: string, m: Manifest, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  switch (m.kind) {
    case "Namespace":
      return new k8s.core.v1.Namespace(name, { metadata: m.metadata }, opts);
    case "ServiceAccount":
      return new k8s.core.v1.ServiceAccount(name, { metadata: m.metadata, automountServiceAccountToken: m.automountServiceAccountToken }, opts);
    case "ConfigMap":
      return new k8s.core.v1.ConfigMap(name, { metadata: m.metadata, data: m.data }, opts);
    case "Secret":
      return new k8s.core.v1.Secret(name, { metadata: m.metadata, type: m.type, stringData: m.stringData }, { ...opts, additionalSecretOutputs: ["data", "stringData"] });
    case "Service":
      return new k8s.core.v1.Service(name, { metadata: m.metadata, spec: m.spec }, opts);
    case "PersistentVolumeClaim":
      return new k8s.core.v1.PersistentVolumeClaim(name, { metadata: m.metadata, spec: m.spec }, opts);
    case "StatefulSet":
      return new k8s.apps.v1.StatefulSet(name, { metadata: m.metadata, spec: m.spec }, opts);
    case "Deployment":
      return new k8s.apps.v1.Deployment(name, { metadata: m.metadata, spec: m.spec }, opts);
    case "DaemonSet":
      return new k8s.apps.v1.DaemonSet(name, { metadata: m.metadata, spec: m.spec }, opts);
    case "Role":
      return new k8s.rbac.v1.Role(name, { metadata: m.metadata, rules: m.rules }, opts);
    case "RoleBinding":
      return new k8s.rbac.v1.RoleBinding(name, { metadata: m.metadata, roleRef: m.roleRef, subjects: m.subjects }, opts);
    case "ClusterRole":
      return new k8s.rbac.v1.ClusterRole(name, { metadata: m.metadata, rules: m.rules }, opts);
    case "ClusterRoleBinding":
      return new k8s.rbac.v1.ClusterRoleBinding(name, { metadata: m.metadata, roleRef: m.roleRef, subjects: m.subjects }, opts);
    case "NetworkPolicy":
      return new k8s.networking.v1.NetworkPolicy(name, { metadata: m.metadata, spec: m.spec }, opts);
    case "Ingress":
      return new k8s.networking.v1.Ingress(name, { metadata: m.metadata, spec: m.spec }, opts);
    case "PodDisruptionBudget":
      return new k8s.policy.v1.PodDisruptionBudget(name, { metadata: m.metadata, spec: m.spec }, opts);
  }
}
