import { STACK_JOB_NAMES } from "../../metrics/jobs";
import type { StackConfig } from "../config/resolve";
import type { RelabelConfig } from "../render/prometheus";
import type { ServiceSpec } from "../spec";
import { baseSpec, mainPort, resources, wgetHealth } from "./common";
import type { ServiceDescriptor } from "./descriptor";

/** The container engine's API socket: cAdvisor asks it for container names (`--docker_only`). */
export const CADVISOR_RUNTIME_SOCKET = "/var/run/docker.sock";

/**
 * cAdvisor reads every container's cgroups and the Docker engine's files, so it needs more than
 * the others: it runs as root with read-only host mounts and /dev/kmsg (OOM events). Upstream's
 * example runs it `--privileged` with all of /var/run; we do neither. Of /var/run only the Docker
 * socket is mounted (not containerd's, dbus' or systemd's), and of the capabilities only
 * DAC_READ_SEARCH is kept (to traverse container directories owned by other users); SYS_PTRACE
 * served per-process stats, which `--disable_metrics=process` turns off. The socket still grants
 * the whole Docker API (a read-only mount does not limit API calls): docs/stack.md states that
 * residual risk.
 */
export function cadvisorService(cfg: StackConfig): ServiceSpec {
  const port = mainPort(cfg, "cadvisor");
  return {
    ...baseSpec(cfg, "cadvisor"),
    args: [
      `--port=${port.containerPort}`,
      "--docker_only=true",
      "--housekeeping_interval=15s",
      // Metrics nobody reads cost series; DS01 drops the same families at scrape time too.
      "--disable_metrics=percpu,sched,tcp,udp,disk,diskIO,hugetlb,referenced_memory,cpu_topology,resctrl,advtcp,process",
      // Container labels as series labels multiply series; dashboards join on `name` instead.
      "--store_container_labels=false",
    ],
    ports: [port],
    hostMounts: [
      { hostPath: "/", mountPath: "/rootfs", readOnly: true },
      { hostPath: CADVISOR_RUNTIME_SOCKET, mountPath: CADVISOR_RUNTIME_SOCKET, readOnly: true },
      { hostPath: "/sys", mountPath: "/sys", readOnly: true },
      { hostPath: "/var/lib/docker", mountPath: "/var/lib/docker", readOnly: true },
      { hostPath: "/dev/disk", mountPath: "/dev/disk", readOnly: true },
    ],
    devices: ["/dev/kmsg"],
    capabilities: { add: ["DAC_READ_SEARCH"], drop: ["ALL"] },
    healthCheck: { kind: "http", path: "/healthz", port: port.containerPort },
    healthCommand: wgetHealth(port.containerPort, "/healthz"),
    resources: resources("100m", "128Mi", "300m", "256Mi"),
    placement: "perNode",
  };
}

/**
 * cAdvisor series dropped to bound storage, as DS01 does: per-thread task states, recursive blkio
 * and the static CPU spec, except container_spec_cpu_quota and container_spec_memory_limit_bytes,
 * which CPU and memory percentages divide by.
 */
export const CADVISOR_DROP: RelabelConfig = {
  source_labels: ["__name__"],
  regex: "container_(tasks_state|blkio_.*_recursive|spec_cpu_(period|shares))",
  action: "drop",
};

/**
 * The CRI labels cAdvisor keeps on a cluster (`--whitelisted_container_labels`, which applies
 * because `--store_container_labels=false`): the pod, namespace and container a cgroup belongs to.
 * Under containerd cAdvisor's `name` is the container's 64-hex id, and these labels are the
 * only way to a workload.
 */
const CADVISOR_K8S_LABELS = ["io.kubernetes.container.name", "io.kubernetes.pod.name", "io.kubernetes.pod.namespace"];
/** cAdvisor writes a kept container label `l` as the series label `container_label_<l with . as _>`. */
const criLabel = (label: string): string => `container_label_${label.replace(/[^a-zA-Z0-9_]/g, "_")}`;
const [CRI_CONTAINER, CRI_POD, CRI_NAMESPACE] = CADVISOR_K8S_LABELS.map(criLabel) as [string, string, string];

/**
 * On a cluster, each container's series carry its workload's `namespace`, `pod` and `container`
 * (as kubelet's own cAdvisor writes them; discovery leaves these labels to the data), and `name`
 * becomes `namespace/pod/container`, so the per-container recordings and panels that key on
 * `name` read a workload instead of an id. A pod's sandbox (pause) container has no container
 * name and holds the pod's network counters: it is named `namespace/pod`. Cgroups that are no
 * pod's (the root, system services) keep cAdvisor's labels.
 */
export const CADVISOR_K8S_RELABELS: readonly RelabelConfig[] = [
  ...([
    [CRI_NAMESPACE, "namespace"],
    [CRI_POD, "pod"],
    [CRI_CONTAINER, "container"],
  ] as const).map(([from, to]): RelabelConfig => ({ source_labels: [from], regex: "(.+)", target_label: to, replacement: "$1", action: "replace" })),
  { source_labels: ["namespace", "pod", "container"], separator: "/", regex: "(.+)/(.+)/(.+)", target_label: "name", replacement: "$1/$2/$3", action: "replace" },
  { source_labels: ["namespace", "pod", "container"], separator: "/", regex: "(.+)/(.+)/", target_label: "name", replacement: "$1/$2", action: "replace" },
  { regex: `${CRI_CONTAINER}|${CRI_POD}|${CRI_NAMESPACE}`, action: "labeldrop" },
];
/** Cluster nodes run containerd: its socket (cAdvisor's default path) replaces Docker's, nothing else of /run. */
const CONTAINERD_SOCKET = "/run/containerd/containerd.sock";

export const cadvisor: ServiceDescriptor = {
  name: "cadvisor",
  componentType: "Cadvisor",
  summary: "cAdvisor: CPU, memory, network and OOM kills per container",
  image: "gcr.io/cadvisor/cadvisor:v0.52.1",
  port: { name: "http", number: 8080 },
  enabledByDefault: { dev: true, prod: true },
  scrape: {
    job: STACK_JOB_NAMES.cadvisor,
    interval: "30s",
    metricRelabels: [CADVISOR_DROP],
    kubernetes: { perNode: true, dataLabelsOf: ["cadvisor"], metricRelabels: CADVISOR_K8S_RELABELS },
  },
  probe: { path: "/metrics", kind: "metrics" },
  build: cadvisorService,
  kubernetes: {
    imageUid: 0,
    clusterSpecs: (_cfg, spec) => [
      {
        ...spec,
        args: [...spec.args, `--whitelisted_container_labels=${CADVISOR_K8S_LABELS.join(",")}`],
        hostMounts: spec.hostMounts.map((m) =>
          m.hostPath === CADVISOR_RUNTIME_SOCKET ? { hostPath: CONTAINERD_SOCKET, mountPath: CONTAINERD_SOCKET, readOnly: true } : m,
        ),
      },
    ],
  },
};
