/**
 * A service as a plain value: what to run and how, with no platform in it. Pure functions in
 * components/services/ compute these from the stack config; components/platforms/docker and
 * components/platforms/kubernetes turn them into resources. Platform-specific needs are
 * expressed as data here (e.g. `gpus`, `hostMounts`) and each platform maps them its own way.
 */
import type { StackJobService } from "../metrics/jobs";
import { REGISTERED_SERVICE_NAMES } from "./services/registry";

/** The services the stack ships with (each one module under components/services/). */
export type BuiltinServiceName = StackJobService;

/**
 * A service's key (components.<name>, ports.<name>, ...): a built-in one, or any registered
 * through a descriptor (components/services/registry.ts). Tables keyed by it always hold the
 * built-in keys and may hold more.
 */
export type ServiceName = BuiltinServiceName | (string & {});

/**
 * Every registered service, in registration order; a live view of the registry, so it also
 * lists services registered after this module was loaded.
 */
export const SERVICE_NAMES: readonly ServiceName[] = REGISTERED_SERVICE_NAMES;

export interface PortSpec {
  /** IANA-style port name, also the Kubernetes container port name (max 15 chars). */
  readonly name: string;
  readonly containerPort: number;
  /** Port published on the host (Docker) / Service port (Kubernetes). */
  readonly hostPort: number;
}

/** A config file the service reads, with its full content (rendered by pure functions). */
export interface ConfigFileSpec {
  readonly path: string;
  readonly content: string;
}

/**
 * A file whose content is a secret (a password, a webhook URL). The value never enters the
 * spec: it is looked up by `secretKey` in the secrets the platform is given (Pulumi secrets).
 */
export interface SecretFileSpec {
  readonly path: string;
  readonly secretKey: string;
}

/** An environment variable whose value is a secret, looked up like SecretFileSpec. */
export interface SecretEnvSpec {
  readonly name: string;
  readonly secretKey: string;
}

/** Persistent data that must survive container/pod replacement. */
export interface DataVolumeSpec {
  readonly name: string;
  readonly mountPath: string;
  /** Requested size (Kubernetes PVC); Docker volumes are unbounded. */
  readonly size?: string;
}

export interface HostMountSpec {
  readonly hostPath: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

export type HealthCheckSpec =
  | { readonly kind: "http"; readonly path: string; readonly port: number }
  | { readonly kind: "exec"; readonly command: readonly string[] };

export interface ResourceSpec {
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly cpuLimit: string;
  readonly memoryLimit: string;
}

export interface ServiceSpec {
  readonly name: ServiceName;
  /** Docker container name / Kubernetes object name. */
  readonly resourceName: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly secretEnv: readonly SecretEnvSpec[];
  readonly ports: readonly PortSpec[];
  readonly configFiles: readonly ConfigFileSpec[];
  readonly secretFiles: readonly SecretFileSpec[];
  readonly dataVolumes: readonly DataVolumeSpec[];
  readonly hostMounts: readonly HostMountSpec[];
  /** uid[:gid] the process runs as; undefined keeps the image's user. */
  readonly user?: string;
  readonly readOnlyRootFilesystem: boolean;
  readonly capabilities: { readonly add: readonly string[]; readonly drop: readonly string[] };
  /** GPUs the container gets: "all" or a list of device ids/UUIDs; undefined for none. */
  readonly gpus?: "all" | readonly string[];
  /**
   * What the GPUs are for: `compute` (default) or only `utility` (nvidia-smi and NVML, to list
   * the devices), the NVIDIA container toolkit's driver capability. Optional.
   */
  readonly gpuCapability?: "compute" | "utility";
  readonly hostPid: boolean;
  readonly hostNetwork: boolean;
  readonly healthCheck?: HealthCheckSpec;
  /**
   * Where the service answers "alive" and "ready" when that differs from `healthCheck`, which then
   * serves as the startup check (kube-state-metrics: /healthz, /livez, /readyz). Optional; platforms
   * with separate probes (Kubernetes) use them, a single health check (Docker) uses `healthCheck`.
   */
  readonly livenessCheck?: HealthCheckSpec;
  readonly readinessCheck?: HealthCheckSpec;
  /**
   * Health check as a command run inside the container, for platforms that can only run commands
   * (Docker) when the image has no HTTP client for `healthCheck`. Optional; platforms with HTTP
   * probes (Kubernetes) use `healthCheck`.
   */
  readonly healthCommand?: readonly string[];
  /** Supplementary group ids the process runs with (e.g. the Docker socket's group). Optional. */
  readonly supplementalGroups?: readonly number[];
  /** Host devices passed into the container (e.g. /dev/kmsg for cAdvisor's OOM events). Optional. */
  readonly devices?: readonly string[];
  /** Extra /etc/hosts entries, `name:address` (Docker's `host-gateway` allowed). Optional. */
  readonly extraHosts?: readonly string[];
  readonly resources: ResourceSpec;
  /** Where the service runs on Kubernetes: one per node, or a replicated workload. */
  readonly placement: "perNode" | "gpuNodes" | "cluster";
  /** Labels added to the workload (e.g. app.kubernetes.io/*). */
  readonly labels: Readonly<Record<string, string>>;
}
