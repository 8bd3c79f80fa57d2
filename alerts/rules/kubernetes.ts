import {
  FULL_GPU_RESOURCE,
  GPU_RESOURCES as GPU,
  KUBE_STATE_METRICS_JOB,
  ON_POD as onPod,
  POD_KEY,
  agg,
  call,
  dcgm,
  kubeStateMetrics as ksm,
  gpuNodes,
  measured as real,
  ne,
  pendingGpuPods,
  podAgeSeconds,
  podInPhase as inPhase,
  range,
  recorded,
  sel,
  stack,
} from "../../metrics";
import type { RuleContext } from "../context";
import { alert, durationMs, humanDuration, humanized, input, num, record, type AlertingRule, type InputSeries, type RuleGroup, type RuleSet } from "../model";

/**
 * A Kubernetes GPU cluster as the scheduler sees it (kube-state-metrics) joined with what the
 * GPUs do (DCGM, whose pod mapping labels each device with the pod using it): who requests GPUs,
 * who waits for them, who holds them idle, and nodes losing devices. "Devices" are whole GPUs and
 * MIG slices, each counted as the extended resource the pod asked for.
 */

/** Per pod and container, one request whatever the number of kube-state-metrics replicas scraped. */
const gpuRequests = agg("max", sel(ksm.kube_pod_container_resource_requests, GPU), ["namespace", "pod", "container", "node", "resource"]);

/** Utilisation (0-100) of each device a pod uses: GPU_UTIL for whole GPUs, the MIG engine ratio x100 for slices. */
const deviceUtilisation = `(${real(sel(dcgm.DCGM_FI_DEV_GPU_UTIL, { GPU_I_ID: "", pod: ne("") }))} or (${real(
  sel(dcgm.DCGM_FI_PROF_GR_ENGINE_ACTIVE, { GPU_I_ID: ne(""), pod: ne("") }),
)} * 100))`;

const r = recorded;
const scheduled = { node: ne("") } as const;

function recordingGroups(ctx: RuleContext): RuleGroup[] {
  const idleBelow = num(ctx.thresholds.kubernetes.idleGpuUtilizationPercent);
  return [
    {
      name: "k8s_gpu_requests",
      interval: "30s",
      rules: [
        // Requests of pods that hold or wait for devices; a finished pod's requests no longer count.
        record(r["k8s:pod_gpu_requests"].name, `${agg("sum", gpuRequests, ["namespace", "pod", "node", "resource"])} * ${onPod} group_left() ${inPhase("Pending|Running")}`),
        record(r["k8s:node_gpu_allocated"].name, agg("sum", sel(r["k8s:pod_gpu_requests"], scheduled), ["node", "resource"])),
        record(r["k8s:namespace_gpu_allocated"].name, agg("sum", sel(r["k8s:pod_gpu_requests"], scheduled), ["namespace", "resource"])),
        record(r["k8s:namespace_gpu_pending"].name, agg("sum", sel(r["k8s:pod_gpu_requests"], { node: "" }), ["namespace", "resource"])),
      ],
    },
    {
      name: "k8s_gpu_usage",
      interval: "30s",
      rules: [
        record(r["k8s:pod_gpu_utilization"].name, agg("avg", deviceUtilisation, POD_KEY)),
        record(r["k8s:pod_gpu_busy"].name, `${agg("sum", deviceUtilisation, POD_KEY)} / 100`),
        record(
          r["k8s:node_gpu_busy"].name,
          agg("sum", `${sel(r["k8s:pod_gpu_busy"])} * ${onPod} group_left(node) ${agg("group", sel(r["k8s:pod_gpu_requests"], scheduled), ["namespace", "pod", "node"])}`, ["node"]),
        ),
        record(r["k8s:namespace_gpu_busy"].name, agg("sum", sel(r["k8s:pod_gpu_busy"]), ["namespace"])),
        // Running pods only: a scheduled pod still pulling its image has not started to use its devices.
        record(
          r["k8s:pod_gpu_idle"].name,
          `${sel(r["k8s:pod_gpu_requests"], scheduled)} and ${onPod} (${sel(r["k8s:pod_gpu_utilization"])} < ${idleBelow}) and ${onPod} ${inPhase("Running")}`,
        ),
        record(r["k8s:namespace_gpu_idle"].name, agg("sum", sel(r["k8s:pod_gpu_idle"]), ["namespace"])),
      ],
    },
  ];
}

/** Series shaped as kube-state-metrics and DCGM emit them on the cluster, for the cases. */
const KSM = { job: KUBE_STATE_METRICS_JOB, instance: "gpu-monitoring-kube-state-metrics-6c9f7" } as const;
const DCGM_JOB = "dcgm-exporter";

interface FakePod {
  readonly namespace: string;
  readonly pod: string;
  readonly phase: "Pending" | "Running";
  /** Absent while unscheduled. */
  readonly node?: string;
  readonly resource: string;
  readonly devices: number;
  /** Creation time, seconds since the start of the case. */
  readonly created: number;
  readonly samples: number;
}

/** The pod's kube-state-metrics series: creation time, phase (one series per phase) and its container's request. */
function podSeries(p: FakePod): InputSeries[] {
  const id = { ...KSM, namespace: p.namespace, pod: p.pod, uid: `uid-${p.pod}` };
  const n = p.samples;
  return [
    input(ksm.kube_pod_created, id, `${p.created}x${n}`),
    ...(["Pending", "Running", "Succeeded", "Failed", "Unknown"] as const).map((phase) => input(ksm.kube_pod_status_phase, { ...id, phase }, `${phase === p.phase ? 1 : 0}x${n}`)),
    input(
      ksm.kube_pod_container_resource_requests,
      { ...id, container: "main", ...(p.node ? { node: p.node } : {}), resource: p.resource, unit: "integer" },
      `${p.devices}x${n}`,
    ),
  ];
}

/** DCGM's series for one device a pod uses: GPU_UTIL (0-100) for a whole GPU, GR_ENGINE_ACTIVE (0-1) for a MIG slice. */
function deviceSeries(o: { node: string; gpu: string; namespace: string; pod: string; mig?: { id: string; profile: string }; values: string }): InputSeries {
  const labels = {
    gpu: o.gpu,
    UUID: `GPU-${o.node}-${o.gpu}`,
    modelName: "NVIDIA A100-SXM4-80GB",
    Hostname: `dcgm-exporter-${o.node}`,
    namespace: o.namespace,
    pod: o.pod,
    container: "main",
    job: DCGM_JOB,
    instance: o.node,
  };
  return o.mig
    ? input(dcgm.DCGM_FI_PROF_GR_ENGINE_ACTIVE, { ...labels, GPU_I_ID: o.mig.id, GPU_I_PROFILE: o.mig.profile }, o.values)
    : input(dcgm.DCGM_FI_DEV_GPU_UTIL, labels, o.values);
}

function podPending(ctx: RuleContext): AlertingRule {
  const limit = ctx.thresholds.kubernetes.gpuPodPendingSeconds;
  const waitedAt = Math.max(30 * 60, limit * 2);
  const at = `${waitedAt}s`;
  const pod = (over: Partial<FakePod>): FakePod => ({
    namespace: "research",
    pod: "train-0",
    phase: "Pending",
    resource: FULL_GPU_RESOURCE,
    devices: 2,
    created: 0,
    samples: Math.ceil(waitedAt / 60) + 5,
    ...over,
  });
  const summary = "GPU pod {{ $labels.namespace }}/{{ $labels.pod }} is pending too long";
  const description = `Pod {{ $labels.namespace }}/{{ $labels.pod }} asks for GPUs and has been Pending for {{ $value | humanizeDuration }}, over ${num(limit)} s.`;
  return alert({
    alert: "KubeGpuPodPendingTooLong",
    expr: `${podAgeSeconds()} > ${num(limit)} and ${onPod} ${pendingGpuPods()}`,
    for: "1m",
    severity: "warning",
    summary,
    description,
    condition: "a pod that requests GPUs or MIG slices has been Pending (unscheduled, or scheduled but not started) for longer than the limit since it was created",
    thresholds: { "kubernetes.gpuPodPendingSeconds": limit },
    cases: [
      {
        name: "an unscheduled GPU pod waiting twice the limit fires",
        input: podSeries(pod({})),
        at,
        expect: [
          {
            labels: { namespace: "research", pod: "train-0" },
            summary: "GPU pod research/train-0 is pending too long",
            description: `Pod research/train-0 asks for GPUs and has been Pending for ${humanDuration(waitedAt)}, over ${num(limit)} s.`,
          },
        ],
      },
      {
        name: "a MIG pod scheduled but not started fires too",
        input: podSeries(pod({ pod: "nb-1", node: "gpu-node-2", resource: "nvidia_com_mig_1g_10gb", devices: 1 })),
        at,
        expect: [
          {
            labels: { namespace: "research", pod: "nb-1" },
            summary: "GPU pod research/nb-1 is pending too long",
            description: `Pod research/nb-1 asks for GPUs and has been Pending for ${humanDuration(waitedAt)}, over ${num(limit)} s.`,
          },
        ],
      },
      { name: "a GPU pod pending for less than the limit stays quiet", input: podSeries(pod({ created: waitedAt - limit / 2 })), at, expect: [] },
      { name: "a pending pod asking for no GPU stays quiet", input: podSeries(pod({ resource: "cpu", devices: 4 })), at, expect: [] },
      { name: "a running GPU pod created long ago stays quiet", input: podSeries(pod({ phase: "Running", node: "gpu-node-1" })), at, expect: [] },
    ],
  });
}

function namespaceIdle(ctx: RuleContext): AlertingRule {
  const t = ctx.thresholds.kubernetes;
  const windowSeconds = durationMs(t.idleGpuWindow) / 1000;
  const atSeconds = windowSeconds * 2;
  const samples = Math.ceil(atSeconds / 60) + 5;
  const idle = Math.max(0, Math.floor(t.idleGpuUtilizationPercent / 2));
  const busy = Math.min(100, Math.ceil(t.idleGpuUtilizationPercent) + 40);
  const minDevices = t.idleGpuMinDevices;
  // Each idle pod holds just enough devices to reach the minimum on its own.
  const devices = minDevices;
  const full = (namespace: string, p: string, util: number, created = 0): InputSeries[] => [
    ...podSeries({ namespace, pod: p, phase: "Running", node: "gpu-node-1", resource: FULL_GPU_RESOURCE, devices, created, samples }),
    ...Array.from({ length: devices }, (_, i) => deviceSeries({ node: "gpu-node-1", gpu: String(i), namespace, pod: p, values: `${util}x${samples}` })),
  ];
  const mig = (namespace: string, p: string, ratio: number): InputSeries[] => [
    ...podSeries({ namespace, pod: p, phase: "Running", node: "gpu-node-2", resource: "nvidia_com_mig_1g_10gb", devices, created: 0, samples }),
    ...Array.from({ length: devices }, (_, i) =>
      deviceSeries({ node: "gpu-node-2", gpu: "0", namespace, pod: p, mig: { id: String(i + 1), profile: "1g.10gb" }, values: `${ratio}x${samples}` }),
    ),
  ];
  const idlePods = [
    `${sel(r["k8s:pod_gpu_requests"], scheduled)}`,
    `(${call("avg_over_time", range(r["k8s:pod_gpu_utilization"], t.idleGpuWindow))} < ${num(t.idleGpuUtilizationPercent)})`,
    `(${podAgeSeconds()} > ${num(windowSeconds)})`,
    inPhase("Running"),
  ].join(` and ${onPod} `);
  const summary = "Namespace {{ $labels.namespace }} holds GPUs it does not use";
  const description = `Namespace {{ $labels.namespace }} holds {{ $value }} GPU devices (GPUs or MIG slices) whose pods averaged below ${num(t.idleGpuUtilizationPercent)}% utilisation over ${t.idleGpuWindow}.`;
  const expected = (namespace: string) => ({
    labels: { namespace },
    summary: `Namespace ${namespace} holds GPUs it does not use`,
    description: `Namespace ${namespace} holds ${num(devices)} GPU devices (GPUs or MIG slices) whose pods averaged below ${num(t.idleGpuUtilizationPercent)}% utilisation over ${t.idleGpuWindow}.`,
  });
  const at = `${atSeconds}s`;
  return alert({
    alert: "KubeNamespaceGpusIdle",
    expr: `${agg("sum", idlePods, ["namespace"])} >= ${num(minDevices)}`,
    for: "10m",
    severity: "warning",
    summary,
    description,
    condition: "the running pods of a namespace hold GPU devices whose average utilisation over the window stayed below the idle threshold (pods younger than the window are left out)",
    thresholds: {
      "kubernetes.idleGpuUtilizationPercent": t.idleGpuUtilizationPercent,
      "kubernetes.idleGpuWindow": t.idleGpuWindow,
      "kubernetes.idleGpuMinDevices": minDevices,
    },
    cases: [
      { name: "an idle whole-GPU pod and an idle MIG pod fire for their namespaces", input: [...full("research", "train-0", idle), ...mig("vision", "nb-1", idle / 100)], at, expect: [expected("research"), expected("vision")] },
      { name: "a busy pod stays quiet", input: full("research", "train-0", busy), at, expect: [] },
      { name: "an idle pod younger than the window stays quiet", input: full("research", "train-0", idle, atSeconds - windowSeconds / 2), at, expect: [] },
      {
        name: "a pod DCGM maps no device to stays quiet (unknown is not idle)",
        input: podSeries({ namespace: "research", pod: "train-0", phase: "Running", node: "gpu-node-1", resource: FULL_GPU_RESOURCE, devices, created: 0, samples }),
        at,
        expect: [],
      },
    ],
  });
}

function allocatableDropped(ctx: RuleContext): AlertingRule {
  const w = ctx.thresholds.kubernetes.allocatableDropWindow;
  const allocatable = sel(ksm.kube_node_status_allocatable, GPU);
  const node = { ...KSM, node: "gpu-node-3", resource: FULL_GPU_RESOURCE, unit: "integer" };
  const windowMinutes = durationMs(w) / 60_000;
  const samples = windowMinutes + 30;
  const series = (alloc: string, cap: string, labels: typeof node = node) => [
    input(ksm.kube_node_status_allocatable, labels, alloc),
    input(ksm.kube_node_status_capacity, labels, cap),
  ];
  const summary = "Node {{ $labels.node }} lost allocatable {{ $labels.resource }}";
  const description = `Node {{ $labels.node }} offers {{ $value }} fewer {{ $labels.resource }} than its capacity or than it did within ${w}: a device plugin, driver or GPU failure (or a MIG repartition).`;
  const fires = (labels: typeof node, lost: number) => ({
    labels: { node: labels.node, resource: labels.resource, unit: labels.unit, job: labels.job, instance: labels.instance },
    summary: `Node ${labels.node} lost allocatable ${labels.resource}`,
    description: `Node ${labels.node} offers ${humanized(lost)} fewer ${labels.resource} than its capacity or than it did within ${w}: a device plugin, driver or GPU failure (or a MIG repartition).`,
  });
  const at = `${windowMinutes / 2 + 20}m`;
  const before = windowMinutes / 2;
  return alert({
    alert: "KubeNodeGpuAllocatableDropped",
    expr: `(${call("max_over_time", range(ksm.kube_node_status_allocatable, w, GPU))} - ${allocatable} > 0) or (${sel(ksm.kube_node_status_capacity, GPU)} - ${allocatable} > 0)`,
    for: "5m",
    severity: "warning",
    summary,
    description,
    condition: "a node's allocatable GPUs or MIG slices fell below their highest value in the window, or below the node's capacity",
    thresholds: { "kubernetes.allocatableDropWindow": w },
    cases: [
      { name: "allocatable GPUs falling from 8 to 6 fires", input: series(`8x${before} 6x${samples}`, `8x${samples + before}`), at, expect: [fires(node, 2)] },
      { name: "a device the plugin marks unhealthy (allocatable below capacity) fires", input: series(`7x${samples}`, `8x${samples}`), at, expect: [fires(node, 1)] },
      {
        name: "a device plugin gone (capacity and allocatable to 0) fires",
        input: series(`8x${before} 0x${samples}`, `8x${before} 0x${samples}`),
        at,
        expect: [fires(node, 8)],
      },
      { name: "steady allocatable GPUs stay quiet", input: series(`8x${samples}`, `8x${samples}`), at, expect: [] },
      { name: "a CPU resource dropping stays quiet", input: series(`64x${before} 32x${samples}`, `64x${samples + before}`, { ...node, resource: "cpu", unit: "core" }), at, expect: [] },
    ],
  });
}

function gpuNodeNotReady(): AlertingRule {
  const n = 20;
  const ready = (node: string, status: "true" | "false" | "unknown") =>
    (["true", "false", "unknown"] as const).map((s) => input(ksm.kube_node_status_condition, { ...KSM, node, condition: "Ready", status: s }, `${s === status ? 1 : 0}x${n}`));
  const capacity = (node: string, resource: string, value: number) => input(ksm.kube_node_status_capacity, { ...KSM, node, resource, unit: "integer" }, `${value}x${n}`);
  const summary = "GPU node {{ $labels.node }} is not ready";
  const description = "Node {{ $labels.node }}, which has GPUs, has not been Ready for 5 minutes: its GPU pods are not running there and no new ones are scheduled.";
  const fired = (node: string) => ({
    labels: { node, condition: "Ready", status: "true", job: KSM.job, instance: KSM.instance },
    summary: `GPU node ${node} is not ready`,
    description: `Node ${node}, which has GPUs, has not been Ready for 5 minutes: its GPU pods are not running there and no new ones are scheduled.`,
  });
  return alert({
    alert: "KubeGpuNodeNotReady",
    expr: `${sel(ksm.kube_node_status_condition, { condition: "Ready", status: "true" })} == 0 and on(node) ${gpuNodes()}`,
    for: "5m",
    severity: "warning",
    summary,
    description,
    condition: "a node with GPU or MIG capacity reports its Ready condition as false or unknown",
    cases: [
      { name: "a GPU node not ready fires", input: [...ready("gpu-node-1", "false"), capacity("gpu-node-1", FULL_GPU_RESOURCE, 8)], at: "15m", expect: [fired("gpu-node-1")] },
      { name: "a MIG node in unknown state fires", input: [...ready("gpu-node-2", "unknown"), capacity("gpu-node-2", "nvidia_com_mig_3g_40gb", 2)], at: "15m", expect: [fired("gpu-node-2")] },
      { name: "a ready GPU node stays quiet", input: [...ready("gpu-node-1", "true"), capacity("gpu-node-1", FULL_GPU_RESOURCE, 8)], at: "15m", expect: [] },
      { name: "a CPU node not ready stays quiet here", input: [...ready("cpu-node-1", "false"), capacity("cpu-node-1", "pods", 110)], at: "15m", expect: [] },
    ],
  });
}

function kubeStateMetricsDown(): AlertingRule {
  const up = sel(stack.up, { job: KUBE_STATE_METRICS_JOB });
  const summary = "kube-state-metrics is down";
  const description =
    "Prometheus has no kube-state-metrics target it can scrape: GPU requests, pending pods and node capacity are unknown, and the Kubernetes GPU alerts cannot fire.";
  const expected = (labels: Record<string, string>) => ({ labels, summary, description });
  return alert({
    alert: "KubeStateMetricsDown",
    expr: `${up} == 0 or ${call("absent", up)}`,
    for: "5m",
    severity: "critical",
    summary,
    description,
    condition: "the kube-state-metrics target fails its scrapes, or there is none (its pod is not running)",
    cases: [
      { name: "a failing target fires", input: [input(stack.up, KSM, "1 0x15")], at: "10m", expect: [expected({ ...KSM })] },
      { name: "no target at all fires", input: [input(stack.up, { job: DCGM_JOB, instance: "gpu-node-1" }, "1x15")], at: "10m", expect: [expected({ job: KUBE_STATE_METRICS_JOB })] },
      { name: "a healthy target stays quiet", input: [input(stack.up, KSM, "1x15")], at: "10m", expect: [] },
    ],
  });
}

export function kubernetesRuleSet(ctx: RuleContext): RuleSet {
  return {
    id: "kubernetes",
    title: "Kubernetes GPU scheduling",
    recording: ctx.kubeStateMetrics === false ? [] : recordingGroups(ctx),
    alerting: [
      {
        name: "kubernetes_gpu_alerts",
        rules: [podPending(ctx), namespaceIdle(ctx), allocatableDropped(ctx), gpuNodeNotReady(), kubeStateMetricsDown()],
      },
    ],
  };
}
