import { describe, expect, it } from "vitest";
import {
  KUBE_STATE_METRICS_IMAGE,
  kubeStateMetricsAllowlist,
  kubeStateMetricsArgs,
  kubeStateMetricsNames,
  kubeStateMetricsResources,
  kubeStateMetricsRules,
} from "../../components/services/kubeStateMetrics";
import { kubeStateMetrics } from "../../metrics";
import { allowed, sanitize } from "./kube-state-metrics-page";

/** Every pod and node metric family kube-state-metrics v2.20.0 builds (internal/store/pod.go and node.go). */
const V2_20_POD_AND_NODE_FAMILIES = `
kube_node_annotations kube_node_created kube_node_deletion_timestamp kube_node_info kube_node_labels kube_node_role
kube_node_spec_pod_cidrs kube_node_spec_taint kube_node_spec_unschedulable kube_node_status_addresses
kube_node_status_allocatable kube_node_status_capacity kube_node_status_condition kube_pod_annotations
kube_pod_completion_time kube_pod_container_info kube_pod_container_resource_limits kube_pod_container_resource_requests
kube_pod_container_state_started kube_pod_container_status_last_terminated_exitcode
kube_pod_container_status_last_terminated_reason kube_pod_container_status_last_terminated_timestamp
kube_pod_container_status_ready kube_pod_container_status_restarts_total kube_pod_container_status_running
kube_pod_container_status_terminated kube_pod_container_status_terminated_reason kube_pod_container_status_waiting
kube_pod_container_status_waiting_reason kube_pod_created kube_pod_deletion_timestamp kube_pod_info
kube_pod_init_container_info kube_pod_init_container_resource_limits kube_pod_init_container_resource_requests
kube_pod_init_container_state_started kube_pod_init_container_status_last_terminated_exitcode
kube_pod_init_container_status_last_terminated_reason kube_pod_init_container_status_last_terminated_timestamp
kube_pod_init_container_status_ready kube_pod_init_container_status_restarts_total kube_pod_init_container_status_running
kube_pod_init_container_status_terminated kube_pod_init_container_status_terminated_reason
kube_pod_init_container_status_waiting kube_pod_init_container_status_waiting_reason kube_pod_ips kube_pod_labels
kube_pod_nodeselectors kube_pod_overhead_cpu_cores kube_pod_overhead_memory_bytes kube_pod_owner kube_pod_resourceclaim_info
kube_pod_restart_policy kube_pod_runtimeclass_name_info kube_pod_scheduler kube_pod_service_account
kube_pod_spec_volumes_persistentvolumeclaims_info kube_pod_spec_volumes_persistentvolumeclaims_readonly kube_pod_start_time
kube_pod_status_container_ready_time kube_pod_status_disruption_reason kube_pod_status_initialized_time kube_pod_status_phase
kube_pod_status_qos_class kube_pod_status_ready kube_pod_status_ready_time kube_pod_status_reason kube_pod_status_scheduled
kube_pod_status_scheduled_time kube_pod_status_unschedulable kube_pod_status_unscheduled_time kube_pod_tolerations
`
  .trim()
  .split(/\s+/);

describe("kube-state-metrics in the catalog", () => {
  it("declares only families the pinned release builds, pod series keyed namespace/pod/uid and node series by node", () => {
    expect(KUBE_STATE_METRICS_IMAGE).toBe("registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0");
    for (const def of Object.values(kubeStateMetrics)) {
      expect(V2_20_POD_AND_NODE_FAMILIES, def.name).toContain(def.name);
      expect(def.source).toBe("kube-state-metrics");
      const key = def.name.startsWith("kube_pod_") ? ["namespace", "pod", "uid"] : ["node"];
      expect(def.labels.slice(0, key.length), def.name).toEqual(key);
    }
    expect(kubeStateMetrics.kube_pod_container_resource_requests.labels).toEqual(["namespace", "pod", "uid", "container", "node", "resource", "unit"]);
    expect(kubeStateMetrics.kube_node_status_allocatable.labels).toEqual(["node", "resource", "unit"]);
  });

  it("spells resources as kube-state-metrics sanitises them", () => {
    expect(sanitize("nvidia.com/gpu")).toBe("nvidia_com_gpu");
    expect(sanitize("nvidia.com/mig-1g.10gb")).toBe("nvidia_com_mig_1g_10gb");
    expect(sanitize("nvidia.com/mig-1g.10gb+me")).toBe("nvidia_com_mig_1g_10gb_me");
  });
});

describe("kube-state-metrics' allowlist, resources and RBAC", () => {
  it("lets through exactly the catalog's families of all the release builds, read as kube-state-metrics reads it", () => {
    const pass = allowed(kubeStateMetricsAllowlist());
    expect(V2_20_POD_AND_NODE_FAMILIES.filter(pass).sort()).toEqual(kubeStateMetricsNames());
    // Unanchored, a name would also let through any family it is a part of.
    expect(allowed(["kube_pod_status_ready"])("kube_pod_status_ready_time")).toBe(true);
    expect(pass("kube_pod_status_ready_time")).toBe(false);
  });

  it("collects only pods and nodes, and is granted list and watch on exactly those", () => {
    expect(kubeStateMetricsResources()).toEqual(["nodes", "pods"]);
    expect(kubeStateMetricsRules()).toEqual([{ apiGroups: [""], resources: ["nodes", "pods"], verbs: ["list", "watch"] }]);
    const args = kubeStateMetricsArgs();
    expect(args).toContain("--resources=nodes,pods");
    const allowlist = args.find((a) => a.startsWith("--metric-allowlist="))?.split("=")[1]?.split(",");
    expect(allowlist).toEqual(kubeStateMetricsAllowlist());
    expect(args.some((a) => a.startsWith("--metric-denylist"))).toBe(false);
  });
});
