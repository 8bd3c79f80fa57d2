import type * as k8s from "@pulumi/kubernetes";
import { findServiceDescriptor } from "../../services/registry";
import type { HealthCheckSpec, ServiceSpec } from "../../spec";
import type { KubernetesConfig, ResourceOverride } from "./config";
import type { FileObjects } from "./files";
import { objectLabels, selectorLabels } from "./labels";

type Container = k8s.types.input.core.v1.Container;
type PodTemplate = k8s.types.input.core.v1.PodTemplateSpec;
type Probe = k8s.types.input.core.v1.Probe;

/** Pod template annotation holding the sha256 of the config files: a config change rolls the pods. */
export const CONFIG_CHECKSUM_ANNOTATION = "gpu-monitoring/config-sha256";

/** `nobody`, the user most exporter images declare. */
const DEFAULT_IMAGE_UID = 65534;

/**
 * The image's user where the spec keeps it. The upstream images declare `USER nobody` by name,
 * which kubelet cannot check against runAsNonRoot, so the numeric id comes from the service's
 * descriptor (`kubernetes.imageUid`, default 65534). The DCGM exporter and cAdvisor run as root:
 * DCGM's host engine needs root to open the GPU devices and the kubelet pod-resources socket
 * (root-owned, 0700 directory); cAdvisor reads root-only cgroup and container-runtime state.
 * Both drop every capability they do not need.
 */
export function runAs(spec: ServiceSpec): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(spec.user ?? "");
  if (m) return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
  const uid = findServiceDescriptor(spec.name)?.kubernetes?.imageUid ?? DEFAULT_IMAGE_UID;
  return { uid, gid: uid };
}

export type NodePlacement = "allNodes" | "gpuNodes" | "anyNode";

export interface PodOptions {
  readonly spec: ServiceSpec;
  readonly workloadName: string;
  readonly files: FileObjects;
  readonly placement: NodePlacement;
  readonly kubernetes: KubernetesConfig;
  /** Set only for pods that talk to the API server; every other pod gets no token. */
  readonly serviceAccountName?: string;
  readonly args?: readonly string[];
  readonly extraEnv?: readonly k8s.types.input.core.v1.EnvVar[];
  readonly extraPorts?: readonly k8s.types.input.core.v1.ContainerPort[];
}

function probes(spec: Pick<ServiceSpec, "healthCheck" | "livenessCheck" | "readinessCheck">): Pick<Container, "livenessProbe" | "readinessProbe" | "startupProbe"> {
  const check = spec.healthCheck;
  if (!check) return {};
  // A fresh object per probe: rendered YAML then has no anchors or aliases.
  const action = (c: HealthCheckSpec): Probe =>
    c.kind === "http" ? { httpGet: { path: c.path, port: c.port } } : { exec: { command: [...c.command] } };
  return {
    // A long WAL replay or first-start migration must not be mistaken for a hang: up to 10 minutes.
    startupProbe: { ...action(check), periodSeconds: 5, failureThreshold: 120, timeoutSeconds: 5 },
    livenessProbe: { ...action(spec.livenessCheck ?? check), periodSeconds: 15, failureThreshold: 4, timeoutSeconds: 5 },
    readinessProbe: { ...action(spec.readinessCheck ?? check), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 },
  };
}

function resources(spec: ServiceSpec, override: ResourceOverride | undefined): k8s.types.input.core.v1.ResourceRequirements {
  const r = { ...spec.resources, ...Object.fromEntries(Object.entries(override ?? {}).filter(([, v]) => v !== undefined)) };
  return {
    requests: { cpu: r.cpuRequest, memory: r.memoryRequest },
    limits: { cpu: r.cpuLimit, memory: r.memoryLimit },
  };
}

/** Kubernetes names capabilities without the CAP_ prefix. */
function capability(name: string): string {
  return name.toUpperCase().replace(/^CAP_/, "");
}

function placementFields(placement: NodePlacement, kubernetes: KubernetesConfig): Partial<k8s.types.input.core.v1.PodSpec> {
  switch (placement) {
    // Node-level exporters must run on every node, tainted ones included.
    case "allNodes":
      return { tolerations: [{ operator: "Exists" }] };
    case "gpuNodes":
      return {
        nodeSelector: { ...kubernetes.gpuNodes.nodeSelector },
        tolerations: kubernetes.gpuNodes.tolerations.map((t) => ({ ...t })),
      };
    case "anyNode":
      return {};
  }
}

/**
 * `spec.devices` (cAdvisor's /dev/kmsg) is not mapped: an unprivileged pod cannot open host
 * devices, and privileged mode would grant far more. cAdvisor then misses kernel OOM events only.
 */
export function podTemplate(o: PodOptions): PodTemplate {
  const { spec, files } = o;
  const { uid, gid } = runAs(spec);
  const addCaps = spec.capabilities.add.map(capability);

  const hostVolumes: k8s.types.input.core.v1.Volume[] = spec.hostMounts.map((m, i) => ({
    name: `host-${i}`,
    hostPath: { path: m.hostPath },
  }));
  const hostMounts: k8s.types.input.core.v1.VolumeMount[] = spec.hostMounts.map((m, i) => ({
    name: `host-${i}`,
    mountPath: m.mountPath,
    readOnly: m.readOnly,
    // node-exporter documents HostToContainer for the host root, so later mounts show up.
    ...(m.hostPath === "/" ? { mountPropagation: "HostToContainer" } : {}),
  }));
  const dataMounts = spec.dataVolumes.map((d) => ({ name: d.name, mountPath: d.mountPath }));
  // With a read-only root filesystem the process still needs a scratch /tmp.
  const tmp = spec.readOnlyRootFilesystem && !spec.configFiles.some((f) => f.path.startsWith("/tmp/"));
  const gpuEnv =
    spec.gpus === undefined
      ? []
      : // The GPU is reached through the NVIDIA runtime, not an nvidia.com/gpu request, which
        // would take the GPUs away from the workloads being monitored.
        [
          { name: "NVIDIA_VISIBLE_DEVICES", value: spec.gpus === "all" ? "all" : spec.gpus.join(",") },
          ...(spec.gpuCapability === "utility" ? [{ name: "NVIDIA_DRIVER_CAPABILITIES", value: "utility" }] : []),
        ];

  const container: Container = {
    name: o.workloadName.slice(0, 63),
    image: spec.image,
    ...(spec.command ? { command: [...spec.command] } : {}),
    args: [...(o.args ?? spec.args)],
    env: [
      ...Object.entries(spec.env)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, value]) => ({ name, value })),
      ...gpuEnv,
      ...files.secretEnv,
      ...(o.extraEnv ?? []),
    ],
    ports: [...spec.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: "TCP" })), ...(o.extraPorts ?? [])],
    volumeMounts: [...files.mounts, ...dataMounts, ...hostMounts, ...(tmp ? [{ name: "tmp", mountPath: "/tmp" }] : [])],
    resources: resources(spec, o.kubernetes.resources[spec.name]),
    securityContext: {
      runAsUser: uid,
      runAsGroup: gid,
      runAsNonRoot: uid !== 0,
      readOnlyRootFilesystem: spec.readOnlyRootFilesystem,
      // Set for every container, DCGM's included: the API server refuses it only next to a capability
      // spelled CAP_SYS_ADMIN, and capability() spells it SYS_ADMIN (what runtimes expect). For a
      // process holding SYS_ADMIN no_new_privs is a small step, not a boundary; docs/kubernetes.md says so.
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"], ...(addCaps.length ? { add: addCaps } : {}) },
    },
    ...probes(spec),
  };

  return {
    metadata: {
      labels: objectLabels(spec.name, o.workloadName, spec.labels),
      annotations: { [CONFIG_CHECKSUM_ANNOTATION]: files.checksum },
    },
    spec: {
      ...(o.serviceAccountName
        ? { serviceAccountName: o.serviceAccountName, automountServiceAccountToken: true }
        : { automountServiceAccountToken: false }),
      hostPID: spec.hostPid,
      hostNetwork: spec.hostNetwork,
      // Host-network pods still resolve cluster names (Prometheus, Alertmanager peers).
      ...(spec.hostNetwork ? { dnsPolicy: "ClusterFirstWithHostNet" } : {}),
      ...(spec.gpus !== undefined && o.kubernetes.gpuNodes.runtimeClassName
        ? { runtimeClassName: o.kubernetes.gpuNodes.runtimeClassName }
        : {}),
      securityContext: {
        runAsUser: uid,
        runAsGroup: gid,
        runAsNonRoot: uid !== 0,
        // Volumes (PVCs, secrets) become group-owned by this gid so the non-root process can use them.
        fsGroup: gid,
        ...(spec.supplementalGroups?.length ? { supplementalGroups: [...spec.supplementalGroups] } : {}),
        seccompProfile: { type: "RuntimeDefault" },
      },
      ...placementFields(o.placement, o.kubernetes),
      containers: [container],
      volumes: [
        ...files.volumes,
        ...hostVolumes,
        ...(tmp ? [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }] : []),
      ],
      terminationGracePeriodSeconds: 60,
    },
  };
}

export { selectorLabels };
