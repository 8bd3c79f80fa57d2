import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertingSchema, thresholdsSchema } from "../../alerts/config";
import { renderRuleFiles } from "../../alerts/render";
import { parse } from "yaml";
import { readStackFile, validateStackConfig } from "../../components/config";
import { kubernetesBundle } from "../../components/platforms/kubernetes";
import { kubeStateMetricsAllowlist, kubeStateMetricsNames } from "../../components/services/kubeStateMetrics";
import { toYaml } from "../../components/render";
import { dashboardQueries, dashboardVariables, substituteVariables, UID } from "../../dashboards";
import { KUBE_STATE_METRICS_JOB } from "../../metrics";
import { freePort } from "../../cli/local/ports";
import type { ManagedProcess } from "../../cli/local/process";
import type { PrometheusApi, Sample } from "../../cli/local/prometheus-api";
import { startPrometheus } from "../../cli/local/services";
import { waitFor } from "../../cli/local/wait";
import { K8S_STACK } from "./harness";
import { kubeStateMetricsPage, type FakeNode, type FakePod } from "./kube-state-metrics-page";

/**
 * A real Prometheus scraping a cluster's kube-state-metrics page (pods and nodes as v2.20.0 writes
 * them, cut by the stack's allowlist) and DCGM's page with its pod mapping, through the stack's
 * metric relabelling, loading the stack's rules: the recording rules must join requests with
 * utilisation as the scenario says, the alerts fire for exactly what is wrong, every query of the
 * k8s-gpu-workloads dashboard returns data, and the series stored per pod and per node are counted.
 */

const now = Math.floor(Date.now() / 1000);
const HOUR = 3600;
const gpu = (n: number) => ({ "nvidia.com/gpu": n });
const cpuMem = { cpu: 2, memory: 4 * 2 ** 30 };
const container = (requests: Record<string, number>, waiting?: string) => ({ name: "main", requests: { ...cpuMem, ...requests }, limits: { ...cpuMem, ...requests }, ...(waiting ? { waiting } : {}) });

const NODES: FakeNode[] = [
  { name: "gpu-node-1", allocatable: { cpu: 96, memory: 1e12, pods: 110, ...gpu(8) }, capacity: { cpu: 96, memory: 1e12, pods: 110, ...gpu(8) }, ready: "True" },
  {
    name: "gpu-node-2",
    allocatable: { cpu: 96, memory: 1e12, pods: 110, "nvidia.com/mig-1g.10gb": 7, "nvidia.com/mig-3g.40gb": 2 },
    capacity: { cpu: 96, memory: 1e12, pods: 110, "nvidia.com/mig-1g.10gb": 7, "nvidia.com/mig-3g.40gb": 2 },
    ready: "True",
  },
  // Two GPUs the device plugin reports unhealthy, and the node not ready.
  { name: "gpu-node-3", allocatable: { cpu: 96, memory: 1e12, pods: 110, ...gpu(6) }, capacity: { cpu: 96, memory: 1e12, pods: 110, ...gpu(8) }, ready: "False", cordoned: true },
  { name: "cpu-node-1", allocatable: { cpu: 32, memory: 2.5e11, pods: 110 }, capacity: { cpu: 32, memory: 2.5e11, pods: 110 }, ready: "True" },
];

const PODS: FakePod[] = [
  { namespace: "research", name: "train-0", node: "gpu-node-1", phase: "Running", created: now - 3 * HOUR, containers: [container(gpu(4))] },
  { namespace: "research", name: "train-1", node: "gpu-node-1", phase: "Running", created: now - 3 * HOUR, containers: [container(gpu(2))] },
  { namespace: "vision", name: "nb-0", node: "gpu-node-2", phase: "Running", created: now - 2 * HOUR, containers: [container({ "nvidia.com/mig-1g.10gb": 1 })] },
  { namespace: "vision", name: "infer-0", node: "gpu-node-2", phase: "Running", created: now - 2 * HOUR, containers: [container({ "nvidia.com/mig-3g.40gb": 2 })] },
  // Waiting an hour for four GPUs no node has free.
  { namespace: "research", name: "train-2", phase: "Pending", created: now - HOUR, unschedulable: true, containers: [container(gpu(4))] },
  // Gated by a queue controller, five minutes in: within the limit.
  { namespace: "vision", name: "gated-0", phase: "Pending", created: now - 300, reason: "SchedulingGated", unschedulable: true, containers: [container({ "nvidia.com/mig-1g.10gb": 1 })] },
  // Scheduled, pulling its image for two minutes: it already holds its GPU.
  { namespace: "research", name: "pull-0", node: "gpu-node-1", phase: "Pending", created: now - 120, containers: [container(gpu(1), "ImagePullBackOff")] },
  { namespace: "web", name: "api-0", node: "cpu-node-1", phase: "Running", created: now - 24 * HOUR, containers: [container({})] },
  { namespace: "web", name: "api-1", node: "cpu-node-1", phase: "Running", created: now - 24 * HOUR, containers: [container({})] },
  // Finished: its request no longer holds a GPU.
  { namespace: "batch", name: "done-0", node: "gpu-node-1", phase: "Succeeded", created: now - 5 * HOUR, containers: [container(gpu(1))] },
];

/** DCGM's series for the devices pods use: whole GPUs in percent, MIG slices as the engine ratio. */
function dcgmPage(): string {
  const base = (node: string, gpuIndex: number) =>
    `gpu="${gpuIndex}",UUID="GPU-${node}-${gpuIndex}",device="nvidia${gpuIndex}",modelName="NVIDIA A100-SXM4-80GB",Hostname="dcgm-exporter-${node}"`;
  const podOf = (ns: string, pod: string) => `namespace="${ns}",pod="${pod}",container="main"`;
  const lines = [
    ...[0, 1, 2, 3].map((g) => `DCGM_FI_DEV_GPU_UTIL{${base("gpu-node-1", g)},${podOf("research", "train-0")}} 90`),
    ...[4, 5].map((g) => `DCGM_FI_DEV_GPU_UTIL{${base("gpu-node-1", g)},${podOf("research", "train-1")}} 1`),
    // A GPU no pod uses.
    `DCGM_FI_DEV_GPU_UTIL{${base("gpu-node-1", 7)}} 0`,
    `DCGM_FI_PROF_GR_ENGINE_ACTIVE{${base("gpu-node-2", 0)},GPU_I_ID="7",GPU_I_PROFILE="1g.10gb",${podOf("vision", "nb-0")}} 0.02`,
    ...["1", "2"].map((id) => `DCGM_FI_PROF_GR_ENGINE_ACTIVE{${base("gpu-node-2", 1)},GPU_I_ID="${id}",GPU_I_PROFILE="3g.40gb",${podOf("vision", "infer-0")}} 0.7`),
  ];
  return `${lines.join("\n")}\n`;
}

const IDLE_WINDOW = "20s";

/**
 * The k8s stack's own kube-state-metrics job, as prometheus.yml renders it, with Kubernetes
 * discovery swapped for a static target carrying the labels the discovery's relabelling would
 * leave (test/kubernetes/prometheus.test.ts runs that relabelling itself).
 */
function renderedJob(port: number): Record<string, unknown> {
  const bundle = kubernetesBundle(validateStackConfig(readStackFile(K8S_STACK)));
  const doc = parse(bundle.find((f) => f.path === "prometheus/prometheus.yml")?.content ?? "") as { scrape_configs: Record<string, unknown>[] };
  const job = doc.scrape_configs.find((c) => c["job_name"] === KUBE_STATE_METRICS_JOB);
  if (!job) throw new Error("the k8s stack has no kube-state-metrics job");
  const { kubernetes_sd_configs: _sd, relabel_configs: _relabel, scrape_interval: _i, scrape_timeout: _t, ...rest } = job;
  return { ...rest, static_configs: [{ targets: [`127.0.0.1:${port}`], labels: { instance: "gpu-monitoring-kube-state-metrics-6c9f7" } }] };
}

describe("kube-state-metrics and DCGM in a running Prometheus, through the stack's rules, relabelling and dashboard", () => {
  let dir = "";
  let prometheus: ManagedProcess | undefined;
  let api: PrometheusApi;
  const servers: Server[] = [];
  const { page, seriesExposed } = kubeStateMetricsPage(PODS, NODES, kubeStateMetricsAllowlist());

  async function serve(body: string): Promise<number> {
    const server = createServer((_req, res) => res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" }).end(body));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    return typeof address === "object" && address ? address.port : 0;
  }

  const values = async (expr: string): Promise<Record<string, number>> => {
    const samples: readonly Sample[] = await api.vector(expr);
    return Object.fromEntries(
      samples.map((s) => [
        ["namespace", "pod", "node", "resource"]
          .flatMap((k) => (s.metric[k] ? [s.metric[k]] : []))
          .join("/"),
        Number(Number(s.value[1]).toFixed(4)),
      ]),
    );
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gpu-monitoring-ksm-"));
    const [ksmPort, dcgmPort] = [await serve(page), await serve(dcgmPage())];
    const files = renderRuleFiles({
      thresholds: thresholdsSchema.parse({ kubernetes: { idleGpuWindow: IDLE_WINDOW } }),
      alerting: alertingSchema.parse({ maxFor: "1s" }),
      retentionSize: "1GB",
    });
    await mkdir(join(dir, "rules"));
    for (const f of files) await writeFile(join(dir, "rules", f.fileName), f.content);
    const target = (port: number, labels: Record<string, string>) => [{ targets: [`127.0.0.1:${port}`], labels }];
    await writeFile(
      join(dir, "prometheus.yml"),
      toYaml({
        global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
        rule_files: [join(dir, "rules", "*.yml")],
        scrape_configs: [
          renderedJob(ksmPort),
          { job_name: "dcgm-exporter", honor_labels: true, static_configs: target(dcgmPort, {}) },
        ],
      }),
    );
    const port = await freePort();
    const started = await startPrometheus({ configFile: join(dir, "prometheus.yml"), dataDir: join(dir, "data"), port, logDir: dir });
    prometheus = started.proc;
    api = started.api;
    // The idle alert averages over its window: wait until the last recording group has a window of samples.
    await waitFor(
      "the Kubernetes recording rules and the idle alert",
      async () => ((await api.vector('ALERTS{alertname="KubeNamespaceGpusIdle", alertstate="firing"}')).length === 2 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    for (const s of servers) s.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("exposes exactly the catalog's kube-state-metrics metrics", () => {
    const families = [...page.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    expect(families.sort()).toEqual(kubeStateMetricsNames());
  });

  it("records requests per pod, node and namespace, leaving finished pods out and unscheduled ones without a node", async () => {
    expect(await values("k8s:pod_gpu_requests")).toEqual({
      "research/train-0/gpu-node-1/nvidia_com_gpu": 4,
      "research/train-1/gpu-node-1/nvidia_com_gpu": 2,
      "research/pull-0/gpu-node-1/nvidia_com_gpu": 1,
      "research/train-2/nvidia_com_gpu": 4,
      "vision/nb-0/gpu-node-2/nvidia_com_mig_1g_10gb": 1,
      "vision/infer-0/gpu-node-2/nvidia_com_mig_3g_40gb": 2,
      "vision/gated-0/nvidia_com_mig_1g_10gb": 1,
    });
    expect(await values("k8s:node_gpu_allocated")).toEqual({
      "gpu-node-1/nvidia_com_gpu": 7,
      "gpu-node-2/nvidia_com_mig_1g_10gb": 1,
      "gpu-node-2/nvidia_com_mig_3g_40gb": 2,
    });
    expect(await values("k8s:namespace_gpu_pending")).toEqual({ "research/nvidia_com_gpu": 4, "vision/nvidia_com_mig_1g_10gb": 1 });
  });

  it("joins requests with DCGM's pod mapping: utilisation, busy and idle devices, MIG slices on the same scale", async () => {
    expect(await values("k8s:pod_gpu_utilization")).toEqual({ "research/train-0": 90, "research/train-1": 1, "vision/nb-0": 2, "vision/infer-0": 70 });
    expect(await values("k8s:node_gpu_busy")).toEqual({ "gpu-node-1": 3.62, "gpu-node-2": 1.42 });
    expect(await values("k8s:namespace_gpu_busy")).toEqual({ research: 3.62, vision: 1.42 });
    expect(await values("k8s:pod_gpu_idle")).toEqual({ "research/train-1/gpu-node-1/nvidia_com_gpu": 2, "vision/nb-0/gpu-node-2/nvidia_com_mig_1g_10gb": 1 });
    expect(await values("k8s:namespace_gpu_idle")).toEqual({ research: 2, vision: 1 });
  });

  it("fires for the long-pending pod, the idle namespaces and the failing node, and nothing else", async () => {
    const firing = async () =>
      (await api.vector('ALERTS{alertstate="firing"}'))
        .map((s) => [s.metric.alertname, s.metric.namespace, s.metric.pod, s.metric.node].filter(Boolean).join("/"))
        .sort();
    const expected = [
      "KubeGpuNodeNotReady/gpu-node-3",
      "KubeGpuPodPendingTooLong/research/train-2",
      "KubeNamespaceGpusIdle/research",
      "KubeNamespaceGpusIdle/vision",
      "KubeNodeGpuAllocatableDropped/gpu-node-3",
      "Watchdog",
    ];
    const got = await waitFor("the expected alerts", async () => {
      const names = await firing();
      return expected.every((e) => names.includes(e)) ? names : undefined;
    }, { timeoutMs: 20_000, intervalMs: 500 });
    // Hold times are capped at 1s: anything else that would fire has had its chance.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await firing()).toEqual(expected);
    expect(got).toEqual(expected);
  });

  it("the dashboard's namespace variable offers the namespaces with GPU pods", async () => {
    const [variable] = dashboardVariables(UID.k8sGpuWorkloads);
    const options = (await api.vector(variable!.expr)).map((s) => s.metric[variable!.label]).sort();
    expect([...new Set(options)]).toEqual(["research", "vision"]);
  });

  it("every query of the k8s-gpu-workloads dashboard returns data", async () => {
    const queries = dashboardQueries().filter((q) => q.dashboardUid === UID.k8sGpuWorkloads);
    expect(queries.length).toBeGreaterThan(30);
    const empty: string[] = [];
    for (const q of queries) {
      const samples = await api.vector(substituteVariables(q.expr, { namespace: ".*" }));
      if (samples.length === 0) empty.push(`${q.panelTitle} ${q.refId}`);
    }
    expect(empty).toEqual([]);
  });

  it("stores a bounded number of series per pod and per node (printed for docs/kubernetes.md)", async () => {
    const ksmSeries = (matchers: string) => `{job="${KUBE_STATE_METRICS_JOB}", __name__=~"kube_.+", ${matchers}}`;
    const perPod = await values(`count by (namespace, pod) (${ksmSeries('pod!=""')})`);
    const perNode = await values(`count by (node) (${ksmSeries('pod=""')})`);
    const stored = Number((await api.vector(`scrape_samples_post_metric_relabeling{job="${KUBE_STATE_METRICS_JOB}"}`))[0]?.value[1]);
    const scraped = Number((await api.vector(`scrape_samples_scraped{job="${KUBE_STATE_METRICS_JOB}"}`))[0]?.value[1]);
    console.log(JSON.stringify({ exposed: seriesExposed, scraped, stored, perPod, perNode }));
    expect(scraped).toBe(seriesExposed);
    // A pod without GPUs: creation time and two phases. A running GPU pod adds its request and limit.
    expect(perPod["web/api-0"]).toBe(3);
    expect(perPod["research/train-0"]).toBe(5);
    // Pending and unschedulable adds one; a status reason or a waiting container one more.
    expect(perPod["research/train-2"]).toBe(6);
    expect(perPod["vision/gated-0"]).toBe(7);
    expect(perPod["research/pull-0"]).toBe(6);
    // A node: Ready (three statuses), info, cordoned; and allocatable and capacity per GPU resource.
    expect(perNode["cpu-node-1"]).toBe(5);
    expect(perNode["gpu-node-1"]).toBe(7);
    expect(perNode["gpu-node-2"]).toBe(9);
    expect(perNode["gpu-node-3"]).toBe(7);
    expect(stored).toBeLessThan(scraped / 2);
  });
});
