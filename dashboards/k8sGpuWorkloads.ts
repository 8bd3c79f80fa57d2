import {
  FULL_GPU_RESOURCE,
  GPU_RESOURCES,
  KUBE_STATE_METRICS_JOB,
  MIG_RESOURCES,
  ON_POD,
  agg,
  dcgm,
  gpuNodes,
  kubeStateMetrics as ksm,
  measured,
  ne,
  pendingGpuPods,
  podAgeSeconds,
  re,
  recorded,
  sel,
  stack,
} from "../metrics";
import type { PanelLevels } from "../metrics/thresholds";
import type { DashboardDef } from "./kit/dashboard";
import { orZero } from "./kit/expr";
import {
  barGaugePanel,
  falling,
  gaugePanel,
  NEUTRAL,
  rising,
  statPanel,
  tablePanel,
  timeseriesPanel,
  UP_DOWN_MAPPINGS,
  ZERO_BAD,
  type PanelDef,
} from "./kit/panels";
import { labelValuesVariable } from "./kit/variables";
import { UID } from "./uids";


const NS = { namespace: re("$namespace") } as const;
const r = recorded;
const sumOf = (expr: string, by: readonly string[] = []): string => agg("sum", expr, by);

/** Pending GPU pods of the selected namespaces. */
const pendingPods = `${pendingGpuPods()} and ${ON_POD} ${sel(r["k8s:pod_gpu_requests"], NS)}`;

/**
 * Every panel reads kube-state-metrics, which only a Kubernetes stack runs: elsewhere a panel is
 * empty, and that is healthy, unless each of its queries falls back to 0 (`or vector(0)`).
 */
function kubernetesOnly(section: DashboardDef["sections"][number]): DashboardDef["sections"][number] {
  const zeroWhenEmpty = (p: PanelDef) => p.queries.every((q) => q.expr.startsWith("(") && q.expr.endsWith(" or vector(0))"));
  return { ...section, panels: section.panels.map((p): PanelDef => ({ ...p, expectData: zeroWhenEmpty(p) })) };
}

export function k8sGpuWorkloads(levels: PanelLevels): DashboardDef {
  const pending = levels.k8sGpuPodPendingSeconds;
  const utilisation = levels.k8sPodGpuUtilisationPercent;
  const fixed = levels.fixed;
  const idleBelow = `${utilisation.crit}%`;
  const allocatable = sumOf(sel(ksm.kube_node_status_allocatable, GPU_RESOURCES));
  const allocated = sumOf(sel(r["k8s:node_gpu_allocated"]));
  return {
    uid: UID.k8sGpuWorkloads,
    title: "Kubernetes GPU workloads",
    description:
      "Who requests the cluster's GPUs, who waits for them, and who holds them idle? Devices (whole GPUs and MIG slices) " +
      "allocatable, requested and busy per node and namespace, pending GPU pods and how long they have waited, idle requested " +
      "devices per namespace and pod, and MIG resources by profile, from kube-state-metrics joined with DCGM's pod mapping.",
    tags: ["kubernetes", "gpu", "capacity"],
    related: [UID.nvidiaDcgm, UID.host, UID.stackHealth],
    variables: [
      labelValuesVariable("namespace", r["k8s:pod_gpu_requests"], "namespace", {
        label: "Namespace",
        description: "Namespaces with pods that request GPUs or MIG slices.",
        multi: true,
        includeAll: true,
      }),
    ],
    sections: (
      [
        {
          title: "Cluster",
          collapsed: false,
          panels: [
            statPanel({
              title: "Devices allocatable",
              description: "GPUs and MIG slices the nodes offer to the scheduler (kube_node_status_allocatable).",
              queries: [{ expr: orZero(allocatable), instant: true }],
              thresholds: NEUTRAL,
            }),
            statPanel({
              title: "Devices requested",
              description: "GPUs and MIG slices held by scheduled Pending or Running pods.",
              queries: [{ expr: orZero(allocated), instant: true }],
              thresholds: NEUTRAL,
              sparkline: true,
            }),
            gaugePanel({
              title: "Devices allocated",
              description: "Share of the allocatable devices that scheduled pods hold.",
              queries: [{ expr: `100 * ${orZero(allocated)} / ${allocatable}`, instant: true }],
              unit: "percent",
              min: 0,
              max: 100,
              thresholds: rising(fixed.k8sDevicesAllocatedPercent.warn, fixed.k8sDevicesAllocatedPercent.crit),
            }),
            statPanel({
              title: "Devices busy",
              description: "The held devices' utilisation added up: 2 GPUs at 50% each are 1 busy device.",
              queries: [{ expr: orZero(sumOf(sel(r["k8s:node_gpu_busy"]))), instant: true }],
              decimals: 1,
              thresholds: NEUTRAL,
              sparkline: true,
            }),
            statPanel({
              title: "Idle devices held",
              description: `Devices held by running pods whose utilisation is below ${idleBelow} now.`,
              queries: [{ expr: orZero(sumOf(sel(r["k8s:namespace_gpu_idle"]))), instant: true }],
              thresholds: rising(fixed.k8sIdleDevices.warn, fixed.k8sIdleDevices.crit),
            }),
            statPanel({
              title: "Pending GPU pods",
              description: "Pods that request GPUs or MIG slices and are Pending (unscheduled, or scheduled and not started).",
              queries: [{ expr: orZero(agg("count", pendingGpuPods())), instant: true }],
              thresholds: rising(fixed.k8sPendingGpuPods.warn, fixed.k8sPendingGpuPods.crit),
              sparkline: true,
            }),
            statPanel({
              title: "GPU nodes not ready",
              description: "Nodes with GPU or MIG capacity whose Ready condition is not true.",
              queries: [
                {
                  expr: orZero(agg("count", `${sel(ksm.kube_node_status_condition, { condition: "Ready", status: "true" })} == 0 and on(node) ${gpuNodes()}`)),
                  instant: true,
                },
              ],
              thresholds: rising(fixed.k8sGpuNodesNotReady.warn, fixed.k8sGpuNodesNotReady.crit),
            }),
            statPanel({
              title: "kube-state-metrics",
              description: "Whether Prometheus scrapes kube-state-metrics; when down, every panel here is stale.",
              queries: [{ expr: sel(stack.up, { job: KUBE_STATE_METRICS_JOB }), instant: true }],
              mappings: UP_DOWN_MAPPINGS,
              thresholds: ZERO_BAD,
            }),
          ],
        },
        {
          title: "Per node",
          collapsed: false,
          panels: [
            timeseriesPanel({
              title: "Allocatable, requested and busy devices per node",
              description: "Per GPU node: the devices it offers, those its pods hold, and how many of those the pods keep busy.",
              queries: [
                { expr: sumOf(sel(ksm.kube_node_status_allocatable, GPU_RESOURCES), ["node"]), legend: "{{node}} allocatable" },
                { expr: sumOf(sel(r["k8s:node_gpu_allocated"]), ["node"]), legend: "{{node}} requested" },
                { expr: sel(r["k8s:node_gpu_busy"]), legend: "{{node}} busy" },
              ],
              unit: "short",
            }),
            tablePanel({
              title: "GPU nodes",
              description: "Each GPU node: devices allocatable, requested and busy, whether it is Ready and whether it is cordoned.",
              queries: [
                { expr: sumOf(sel(ksm.kube_node_status_allocatable, GPU_RESOURCES), ["node"]), table: true, instant: true },
                { expr: sumOf(sel(r["k8s:node_gpu_allocated"]), ["node"]), table: true, instant: true },
                { expr: sel(r["k8s:node_gpu_busy"]), table: true, instant: true },
                { expr: `${agg("max", sel(ksm.kube_node_status_condition, { condition: "Ready", status: "true" }), ["node"])} and on(node) ${gpuNodes()}`, table: true, instant: true },
                { expr: `${agg("max", sel(ksm.kube_node_spec_unschedulable), ["node"])} and on(node) ${gpuNodes()}`, table: true, instant: true },
              ],
              merge: true,
              renameColumns: {
                node: "Node",
                "Value #A": "Allocatable",
                "Value #B": "Requested",
                "Value #C": "Busy",
                "Value #D": "Ready",
                "Value #E": "Cordoned",
              },
            }),
          ],
        },
        {
          title: "Per namespace",
          collapsed: false,
          panels: [
            timeseriesPanel({
              title: "Devices requested per namespace",
              description: "Devices held by each namespace's scheduled pods; the area over time is the namespace's GPU-hours.",
              queries: [{ expr: sumOf(sel(r["k8s:namespace_gpu_allocated"], NS), ["namespace"]), legend: "{{namespace}}" }],
              unit: "short",
              stack: true,
            }),
            timeseriesPanel({
              title: "Devices busy per namespace",
              description: "How many of its devices each namespace keeps busy (utilisation added up).",
              queries: [{ expr: sel(r["k8s:namespace_gpu_busy"], NS), legend: "{{namespace}}" }],
              unit: "short",
              stack: true,
            }),
            tablePanel({
              title: "Namespaces",
              description: "Per namespace: devices held, busy, idle and waiting for a node.",
              queries: [
                { expr: sumOf(sel(r["k8s:namespace_gpu_allocated"], NS), ["namespace"]), table: true, instant: true },
                { expr: sel(r["k8s:namespace_gpu_busy"], NS), table: true, instant: true },
                { expr: sel(r["k8s:namespace_gpu_idle"], NS), table: true, instant: true },
                { expr: sumOf(sel(r["k8s:namespace_gpu_pending"], NS), ["namespace"]), table: true, instant: true },
              ],
              merge: true,
              renameColumns: { namespace: "Namespace", "Value #A": "Requested", "Value #B": "Busy", "Value #C": "Idle", "Value #D": "Pending" },
              width: 24,
            }),
          ],
        },
        {
          title: "Pending GPU pods",
          collapsed: false,
          panels: [
            tablePanel({
              title: "Pending GPU pods",
              description: "Each Pending pod that requests GPUs or MIG slices: what it asks for, how long it has waited since it was created, and whether the scheduler found no node for it.",
              queries: [
                { expr: sumOf(`${sel(r["k8s:pod_gpu_requests"], NS)} and ${ON_POD} ${pendingGpuPods()}`, ["namespace", "pod", "resource"]), table: true, instant: true },
                { expr: `${podAgeSeconds()} and ${ON_POD} ${pendingPods}`, table: true, instant: true },
                { expr: `${agg("max", sel(ksm.kube_pod_status_unschedulable, NS), ["namespace", "pod"])} and ${ON_POD} ${pendingPods}`, table: true, instant: true },
              ],
              merge: true,
              renameColumns: { namespace: "Namespace", pod: "Pod", resource: "Resource", "Value #A": "Devices", "Value #B": "Waiting", "Value #C": "Unschedulable" },
              valueColumn: "Waiting",
              unit: "s",
              thresholds: rising(pending.warn, pending.crit),
              width: 24,
            }),
            timeseriesPanel({
              title: "Devices waiting per namespace",
              description: "Devices requested by pods the scheduler has not placed yet, per namespace and resource.",
              queries: [{ expr: sel(r["k8s:namespace_gpu_pending"], NS), legend: "{{namespace}} {{resource}}" }],
              unit: "short",
              stack: true,
            }),
            timeseriesPanel({
              title: "Longest wait per namespace",
              description: "How long the longest-waiting Pending GPU pod of each namespace has existed.",
              queries: [{ expr: agg("max", `${podAgeSeconds()} and ${ON_POD} ${pendingPods}`, ["namespace"]), legend: "{{namespace}}" }],
              unit: "s",
              thresholds: rising(pending.warn, pending.crit),
              thresholdLines: true,
            }),
            barGaugePanel({
              title: "Why GPU pods wait",
              description:
                "Pending GPU pods by reason: Unschedulable (no node has the devices free, or none matches), a pod status reason " +
                "such as SchedulingGated, or the reason a started pod's container waits (ContainerCreating, ImagePullBackOff).",
              queries: [
                { expr: agg("count", `${sel(ksm.kube_pod_status_unschedulable, NS)} and ${ON_POD} ${pendingPods}`), legend: "Unschedulable", instant: true },
                { expr: agg("count", `${sel(ksm.kube_pod_status_reason, NS)} == 1 and ${ON_POD} ${pendingPods}`, ["reason"]), legend: "{{reason}}", instant: true },
                {
                  expr: agg("count", `${sel(ksm.kube_pod_container_status_waiting_reason, NS)} == 1 and ${ON_POD} ${pendingPods}`, ["reason"]),
                  legend: "{{reason}}",
                  instant: true,
                },
              ],
              unit: "short",
              thresholds: NEUTRAL,
              width: 24,
            }),
          ],
        },
        {
          title: "Idle requested devices (waste)",
          collapsed: false,
          panels: [
            timeseriesPanel({
              title: "Idle devices per namespace",
              description: `Devices held by each namespace's running pods whose utilisation is below ${idleBelow}.`,
              queries: [{ expr: sel(r["k8s:namespace_gpu_idle"], NS), legend: "{{namespace}}" }],
              unit: "short",
              stack: true,
            }),
            timeseriesPanel({
              title: "GPU utilisation per pod",
              description: "Average utilisation of the devices each pod uses (whole GPUs and MIG slices on one 0-100 scale).",
              queries: [{ expr: sel(r["k8s:pod_gpu_utilization"], NS), legend: "{{namespace}}/{{pod}}" }],
              unit: "percent",
              min: 0,
              max: 100,
            }),
            tablePanel({
              title: "Pods holding idle devices",
              description: `Running pods whose devices are below ${idleBelow} utilisation now, with the node they hold them on.`,
              queries: [
                { expr: sumOf(sel(r["k8s:pod_gpu_idle"], NS), ["namespace", "pod", "node"]), table: true, instant: true },
                { expr: `${sel(r["k8s:pod_gpu_utilization"], NS)} and ${ON_POD} ${sel(r["k8s:pod_gpu_idle"])}`, table: true, instant: true },
              ],
              merge: true,
              renameColumns: { namespace: "Namespace", pod: "Pod", node: "Node", "Value #A": "Idle devices", "Value #B": "Utilisation %" },
              valueColumn: "Utilisation %",
              unit: "percent",
              thresholds: falling(utilisation.crit, utilisation.warn),
              width: 24,
            }),
          ],
        },
        {
          title: "MIG resources by profile",
          collapsed: false,
          panels: [
            tablePanel({
              title: "MIG slices by profile",
              description: "Per MIG resource (nvidia.com/mig-<profile>): slices the nodes offer, slices scheduled pods hold, and slices pods wait for.",
              queries: [
                { expr: sumOf(sel(ksm.kube_node_status_allocatable, MIG_RESOURCES), ["resource"]), table: true, instant: true },
                { expr: sumOf(sel(r["k8s:node_gpu_allocated"], MIG_RESOURCES), ["resource"]), table: true, instant: true },
                { expr: sumOf(sel(r["k8s:namespace_gpu_pending"], MIG_RESOURCES), ["resource"]), table: true, instant: true },
              ],
              merge: true,
              renameColumns: { resource: "Resource", "Value #A": "Allocatable", "Value #B": "Requested", "Value #C": "Pending" },
            }),
            timeseriesPanel({
              title: "MIG slices requested by profile",
              description: "MIG slices held by scheduled pods, per profile, against what the nodes offer.",
              queries: [
                { expr: sumOf(sel(r["k8s:node_gpu_allocated"], MIG_RESOURCES), ["resource"]), legend: "{{resource}} requested" },
                { expr: sumOf(sel(ksm.kube_node_status_allocatable, MIG_RESOURCES), ["resource"]), legend: "{{resource}} allocatable" },
              ],
              unit: "short",
            }),
            timeseriesPanel({
              title: "MIG utilisation by profile",
              description: "Average graphics-engine activity of the MIG slices pods use, per profile.",
              queries: [
                {
                  expr: agg("avg", `(${measured(sel(dcgm.DCGM_FI_PROF_GR_ENGINE_ACTIVE, { GPU_I_ID: ne(""), pod: ne("") }))}) * 100`, ["GPU_I_PROFILE"]),
                  legend: "{{GPU_I_PROFILE}}",
                },
              ],
              unit: "percent",
              min: 0,
              max: 100,
            }),
            timeseriesPanel({
              title: "Whole GPUs requested against allocatable",
              description: "nvidia.com/gpu held by scheduled pods against what the nodes offer (clusters without MIG show only this).",
              queries: [
                { expr: sumOf(sel(r["k8s:node_gpu_allocated"], { resource: FULL_GPU_RESOURCE })), legend: "requested" },
                { expr: sumOf(sel(ksm.kube_node_status_allocatable, { resource: FULL_GPU_RESOURCE })), legend: "allocatable" },
              ],
              unit: "short",
            }),
          ],
        },
      ] satisfies DashboardDef["sections"]
    ).map(kubernetesOnly),
  };
}
