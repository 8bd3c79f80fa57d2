import type * as k8s from "@pulumi/kubernetes";
import type { MetricSource } from "../../metrics";
import type { Platform, Profile } from "../config/defaults";
import type { ConfigProblem } from "../config/errors";
import type { StackConfig } from "../config/resolve";
import type { KubernetesConfig } from "../platforms/kubernetes/config";
import type { Manifest } from "../platforms/kubernetes/manifest";
import type { BundleFile } from "../render/bundle";
import type { RelabelConfig } from "../render/prometheus";
import type { ServiceName, ServiceSpec } from "../spec";

/**
 * Everything about one service in one place: its config keys and defaults, its scrape job, how
 * `status` probes it, how its spec is built, and what each platform needs from it. Every table,
 * list and switch keyed by service (config schema and defaults, scrape jobs on both platforms,
 * probes, NetworkPolicies, RBAC, docs) is derived from the registered descriptors
 * (./registry.ts); the platforms read these fields and never a service's name.
 */
export interface ServiceDescriptor {
  /**
   * The service's key, camelCase: `components.<name>`, `images.<name>`, `ports.<name>`,
   * `bindAddresses.<name>`, `scrapeIntervals.<name>`, `kubernetes.resources.<name>`. Its
   * kebab-case names the container / Kubernetes objects (`<namePrefix>-<kebab>`).
   */
  readonly name: ServiceName;
  /** Pulumi component type `gpu-monitoring:services:<componentType>`; PascalCase. */
  readonly componentType: string;
  /** One line for the service table in the docs and the integration guide. */
  readonly summary: string;
  /** Default image, pinned to a version (`images.<name>` overrides). */
  readonly image: string;
  /**
   * The main port: its name (also the Kubernetes container port name, at most 15 characters)
   * and the number the image listens on. The default host/Service port is the same number
   * (`ports.<name>` overrides the published one; the container port is the image's).
   */
  readonly port: { readonly name: string; readonly number: number };
  /** Whether `components.<name>` defaults to on, per profile. */
  readonly enabledByDefault: Readonly<Record<Profile, boolean>>;
  /**
   * Platforms the service exists on; default every one. Elsewhere `components.<name>` defaults
   * to off and setting it on is a config error naming the key.
   */
  readonly platforms?: readonly Platform[];
  /**
   * Whether the stack deploys a container/pod for the enabled service; default yes. Our exporter
   * run by systemd on the host (`exporter.run: host`) is enabled and scraped but not deployed.
   */
  readonly deployed?: (cfg: StackConfig) => boolean;
  /** `host:port` Prometheus scrapes when the service is enabled but not deployed (see `deployed`). */
  readonly externalTarget?: (cfg: StackConfig) => string;
  /**
   * The service asks for a login (Grafana): publishing it beyond loopback needs no
   * `exposeUnauthenticated`. Default false: anyone who reaches the port may use it.
   */
  readonly requiresLogin?: boolean;
  /** Problems with the stack config that only matter while the service is on (a missing secret, no GPUs). */
  readonly configProblems?: (cfg: StackConfig) => readonly ConfigProblem[];
  /** Its scrape job; none for a service Prometheus does not scrape. */
  readonly scrape?: ScrapeDescriptor;
  /** How `gpu-monitoring status` checks it; none to leave it out of the status table. */
  readonly probe?: ProbeDescriptor;
  /**
   * The spec builder: the stack config and its rendered bundle → what to run. Pure. Platform
   * differences go in `kubernetes` / `docker` below, not in the spec.
   */
  readonly build: (cfg: StackConfig, bundle: readonly BundleFile[]) => ServiceSpec;
  readonly docker?: DockerNeeds;
  readonly kubernetes?: KubernetesNeeds;
}

export interface ScrapeDescriptor {
  /** Prometheus job name; rules and dashboards select on it. Must differ from every other job. */
  readonly job: string;
  /** Default scrape interval (`scrapeIntervals.<name>` overrides). */
  readonly interval: string;
  /** Path of the metrics endpoint; default Prometheus's `/metrics`. */
  readonly metricsPath?: string;
  /** metric_relabel_configs of the job (e.g. series dropped to bound storage). */
  readonly metricRelabels?: readonly RelabelConfig[];
  /** How Kubernetes discovery finds the targets (pods of the service, its main port by name). */
  readonly kubernetes?: {
    /** One pod per node: `instance` becomes the node name. Default false. */
    readonly perNode?: boolean | ((cfg: StackConfig) => boolean);
    /** Keep labels the target sets itself (DCGM's pod/namespace of the GPU's workload). */
    readonly honorLabels?: boolean;
    /** Catalog sources whose series carry pod target labels as data (not overwritten by discovery). */
    readonly dataLabelsOf?: readonly MetricSource[];
    /** metric_relabel_configs on a cluster only, after the job's own (`metricRelabels`). */
    readonly metricRelabels?: readonly RelabelConfig[];
  };
  /**
   * Who serves the job while this service is off: another service's extra port (our exporter's
   * simulated DCGM endpoint serves `dcgm-exporter`). Undefined: no job.
   */
  readonly standIn?: (cfg: StackConfig) => ScrapeStandIn | undefined;
}

export interface ScrapeStandIn {
  readonly service: ServiceName;
  /** The stand-in's port name (Kubernetes), its container port and its published host port. */
  readonly portName: string;
  readonly containerPort: number;
  readonly hostPort: number;
}

/**
 * `healthy`: any 2xx answer; `metrics`: a 2xx answer with at least one sample; `grafana`: a JSON
 * answer whose `database` is `ok` (Grafana's /api/health).
 */
export type ProbeKind = "healthy" | "grafana" | "metrics";

export interface ProbeDescriptor {
  /** Path on the service's base URL. */
  readonly path: string;
  readonly kind: ProbeKind;
}

export interface DockerNeeds {
  /** Grace period before failed health checks count; default 30s. */
  readonly healthStartPeriod?: string;
  /** Build the image from the platform's build context instead of pulling it, when `when(cfg)`. */
  readonly build?: { readonly dockerfile: string; readonly when: (cfg: StackConfig) => boolean };
}

/** A rule of a Role or ClusterRole. */
export interface ApiRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/**
 * API server access of a service's pods. Either list gives the pods a ServiceAccount (named like
 * the workload) with a mounted token; `namespaced` rules go into a Role and RoleBinding in the
 * stack's namespace, `cluster` rules into a ClusterRole and ClusterRoleBinding (named
 * `<namespace>-<workload>`, as they are cluster-scoped). An empty result still gives the account.
 */
export interface ApiAccess {
  readonly namespaced?: readonly ApiRule[];
  readonly cluster?: readonly ApiRule[];
}

/** One workload of a service on Kubernetes, as the hooks below see it. */
export interface KubernetesWorkload {
  readonly spec: ServiceSpec;
  /** Workload (and ServiceAccount, Service) name. */
  readonly name: string;
  readonly namespace: string;
  readonly replicas: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly kubernetes: KubernetesConfig;
}

/** What a service adds to its pod beyond its spec. */
export interface PodAdditions {
  /** Replaces the spec's args. */
  readonly args?: readonly string[];
  readonly env?: readonly k8s.types.input.core.v1.EnvVar[];
  readonly ports?: readonly k8s.types.input.core.v1.ContainerPort[];
  /** Ports the service's own pods reach each other on (gossip); its NetworkPolicy lets them in. */
  readonly peerPorts?: readonly { readonly port: number; readonly protocols: readonly ("TCP" | "UDP")[] }[];
}

export interface KubernetesNeeds {
  /** Workload kind; default from the spec's placement: perNode/gpuNodes a DaemonSet, cluster a Deployment. */
  readonly workload?: "StatefulSet" | "Deployment" | "DaemonSet";
  /** Replicas of a StatefulSet or Deployment; default 1. */
  readonly replicas?: (kc: KubernetesConfig) => number;
  /** Size of each data volume's claim; default the spec's `size`, else 1Gi. */
  readonly storage?: (kc: KubernetesConfig) => string;
  /** uid the image runs as where the spec sets no user (runAsNonRoot needs a number); default 65534. */
  readonly imageUid?: number;
  /**
   * The service's workloads on a cluster, from its spec (default: the spec as it is, one
   * workload). Our exporter returns a DRM Deployment and a DS01 DaemonSet built from source
   * subsets; each result needs its own `resourceName`.
   */
  readonly clusterSpecs?: (cfg: StackConfig, spec: ServiceSpec) => readonly ServiceSpec[];
  /** API server access (ServiceAccount, Role/ClusterRole and bindings); none by default. */
  readonly apiAccess?: (w: KubernetesWorkload) => ApiAccess;
  /**
   * Services whose pods may open connections to this one's ports (its NetworkPolicy), or
   * `anyone`; default Prometheus only, as for an exporter.
   */
  readonly ingressFrom?: (kc: KubernetesConfig) => readonly ServiceName[] | "anyone";
  /**
   * Where its pods connect beyond the namespace (its egress NetworkPolicy): the API server
   * (ports 443 and 6443) and ports computed from the stack config.
   */
  readonly egress?: { readonly apiServer?: boolean; readonly ports?: (cfg: StackConfig) => readonly number[] };
  /** Additions to each workload's pod (env from the downward API, gossip flags and ports). */
  readonly pod?: (w: KubernetesWorkload) => PodAdditions;
  /** Objects beyond the standard ones (Grafana's Ingress). */
  readonly extraObjects?: (w: KubernetesWorkload) => readonly Manifest[];
  /** The URL users open; default `http://<name>.<namespace>.svc:<port>`. */
  readonly url?: (cfg: StackConfig) => string | undefined;
}
