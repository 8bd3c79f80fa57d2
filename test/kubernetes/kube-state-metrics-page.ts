/**
 * A /metrics page as kube-state-metrics v2.20.0 writes it for a set of pods and nodes, family by
 * family as internal/store/pod.go and node.go build them (only the families this suite needs, plus
 * a few the stack does not read, so the allowlist has something to leave out), filtered by a
 * `--metric-allowlist` the way pkg/allowdenylist applies it: each entry an unanchored regex.
 */

export interface FakeContainer {
  readonly name: string;
  /** Kubernetes resource names and quantities: "cpu" in cores, "memory" in bytes, "nvidia.com/gpu". */
  readonly requests: Readonly<Record<string, number>>;
  readonly limits: Readonly<Record<string, number>>;
  /** The reason the container waits (ContainerCreating, ImagePullBackOff), if it does. */
  readonly waiting?: string;
}

export interface FakePod {
  readonly namespace: string;
  readonly name: string;
  /** Absent while the scheduler has not placed the pod. */
  readonly node?: string;
  readonly phase: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  /** Unix seconds. */
  readonly created: number;
  readonly containers: readonly FakeContainer[];
  /** PodScheduled=False. */
  readonly unschedulable?: boolean;
  /** A pod status reason kube-state-metrics knows (SchedulingGated, Evicted, ...). */
  readonly reason?: string;
}

export interface FakeNode {
  readonly name: string;
  readonly allocatable: Readonly<Record<string, number>>;
  readonly capacity: Readonly<Record<string, number>>;
  readonly ready: "True" | "False" | "Unknown";
  readonly cordoned?: boolean;
}

/** SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes "_". */
export const sanitize = (resource: string): string => resource.replace(/[^a-zA-Z0-9_]/g, "_");

/** The unit kube-state-metrics gives a resource: core for CPU, byte for memory and storage, integer for pods and extended resources. */
function unitOf(resource: string): string {
  if (resource === "cpu") return "core";
  if (["memory", "storage", "ephemeral-storage"].includes(resource) || resource.startsWith("hugepages-")) return "byte";
  return "integer";
}

const line = (name: string, labels: Readonly<Record<string, string>>, value: number): string => {
  // kube-state-metrics leaves out a label whose value is empty, as Prometheus would drop it anyway.
  const parts = Object.entries(labels)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  return `${name}{${parts.join(",")}} ${value}`;
};

const FAMILIES: Readonly<Record<string, string>> = {
  kube_pod_created: "Unix creation timestamp",
  kube_pod_info: "Information about pod.",
  kube_pod_status_phase: "The pods current phase.",
  kube_pod_status_scheduled: "Describes the status of the scheduling process for the pod.",
  kube_pod_status_unschedulable: "Describes the unschedulable status for the pod.",
  kube_pod_status_reason: "The pod status reasons",
  kube_pod_container_resource_requests: "The number of requested request resource by a container.",
  kube_pod_container_resource_limits: "The number of requested limit resource by a container.",
  kube_pod_container_status_waiting_reason: "Describes the reason the container is currently in waiting state.",
  kube_node_info: "Information about a cluster node.",
  kube_node_status_allocatable: "The allocatable for different resources of a node that are available for scheduling.",
  kube_node_status_capacity: "The capacity for different resources of a node.",
  kube_node_status_condition: "The condition of a cluster node.",
  kube_node_spec_unschedulable: "Whether a node can schedule new pods.",
  kube_node_spec_taint: "The taint of a cluster node.",
};

const CONDITION_STATUSES = ["true", "false", "unknown"] as const;

function podFamilies(p: FakePod): Record<string, string[]> {
  const id = { namespace: p.namespace, pod: p.name, uid: `uid-${p.namespace}-${p.name}` };
  const node = p.node ?? "";
  const out: Record<string, string[]> = {};
  const add = (family: string, labels: Record<string, string>, value: number) => (out[family] ??= []).push(line(family, { ...id, ...labels }, value));
  add("kube_pod_created", {}, p.created);
  add("kube_pod_info", { host_ip: "", pod_ip: "", node, created_by_kind: "", created_by_name: "", priority_class: "", host_network: "false" }, 1);
  for (const phase of ["Pending", "Succeeded", "Failed", "Unknown", "Running"]) add("kube_pod_status_phase", { phase }, phase === p.phase ? 1 : 0);
  for (const status of CONDITION_STATUSES) add("kube_pod_status_scheduled", { condition: status }, (p.unschedulable ? "false" : "true") === status ? 1 : 0);
  if (p.unschedulable) add("kube_pod_status_unschedulable", {}, 1);
  if (p.reason) add("kube_pod_status_reason", { reason: p.reason }, 1);
  for (const c of p.containers) {
    for (const [kind, quantities] of [["requests", c.requests], ["limits", c.limits]] as const) {
      for (const [resource, value] of Object.entries(quantities)) {
        add(`kube_pod_container_resource_${kind}`, { container: c.name, node, resource: sanitize(resource), unit: unitOf(resource) }, value);
      }
    }
    if (c.waiting) add("kube_pod_container_status_waiting_reason", { container: c.name, reason: c.waiting }, 1);
  }
  return out;
}

function nodeFamilies(n: FakeNode): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (family: string, labels: Record<string, string>, value: number) => (out[family] ??= []).push(line(family, { node: n.name, ...labels }, value));
  add("kube_node_info", { kernel_version: "6.8.0-45-generic", os_image: "Ubuntu 24.04.1 LTS", container_runtime_version: "containerd://1.7.22", kubelet_version: "v1.31.2", kubeproxy_version: "deprecated", provider_id: "", pod_cidr: "10.244.0.0/24", system_uuid: `uuid-${n.name}`, internal_ip: "10.0.0.10" }, 1);
  for (const [kind, quantities] of [["allocatable", n.allocatable], ["capacity", n.capacity]] as const) {
    for (const [resource, value] of Object.entries(quantities)) add(`kube_node_status_${kind}`, { resource: sanitize(resource), unit: unitOf(resource) }, value);
  }
  const conditions: Record<string, string> = { MemoryPressure: "False", DiskPressure: "False", PIDPressure: "False", Ready: n.ready };
  for (const [condition, state] of Object.entries(conditions)) {
    for (const status of CONDITION_STATUSES) add("kube_node_status_condition", { condition, status }, state.toLowerCase() === status ? 1 : 0);
  }
  add("kube_node_spec_unschedulable", {}, n.cordoned ? 1 : 0);
  if (Object.keys(n.capacity).some((r) => r.startsWith("nvidia.com/"))) add("kube_node_spec_taint", { key: "nvidia.com/gpu", value: "", effect: "NoSchedule" }, 1);
  return out;
}

/** The families kube-state-metrics exposes with this allowlist: those an entry matches anywhere in the name. */
export function allowed(allowlist: readonly string[]): (family: string) => boolean {
  const regexes = allowlist.map((a) => new RegExp(a));
  return (family) => regexes.some((r) => r.test(family));
}

export function kubeStateMetricsPage(pods: readonly FakePod[], nodes: readonly FakeNode[], allowlist: readonly string[]): { page: string; seriesExposed: number } {
  const byFamily: Record<string, string[]> = {};
  for (const f of [...pods.map(podFamilies), ...nodes.map(nodeFamilies)]) {
    for (const [family, lines] of Object.entries(f)) (byFamily[family] ??= []).push(...lines);
  }
  const isAllowed = allowed(allowlist);
  const out: string[] = [];
  let seriesExposed = 0;
  for (const [family, help] of Object.entries(FAMILIES)) {
    if (!isAllowed(family)) continue;
    out.push(`# HELP ${family} ${help}`, `# TYPE ${family} gauge`, ...(byFamily[family] ?? []));
    seriesExposed += byFamily[family]?.length ?? 0;
  }
  return { page: `${out.join("\n")}\n`, seriesExposed };
}
