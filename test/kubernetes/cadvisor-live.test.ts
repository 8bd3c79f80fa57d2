import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { alertingSchema, thresholdsSchema } from "../../alerts/config";
import { renderRuleFiles } from "../../alerts/render";
import { readStackFile, validateStackConfig } from "../../components/config";
import { kubernetesBundle } from "../../components/platforms/kubernetes";
import { toYaml } from "../../components/render";
import { cadvisorService, cadvisor as cadvisorDescriptor } from "../../components/services/cadvisor";
import { STACK_JOB_NAMES } from "../../metrics/jobs";
import { freePort } from "../../cli/local/ports";
import type { ManagedProcess } from "../../cli/local/process";
import type { PrometheusApi, Sample } from "../../cli/local/prometheus-api";
import { startPrometheus } from "../../cli/local/services";
import { waitFor } from "../../cli/local/wait";
import { K8S_STACK } from "./harness";

/**
 * cAdvisor on a cluster node runs containerd: it names each container by its 64-hex id and keeps
 * the CRI labels the stack whitelists as `container_label_io_kubernetes_*`. A real Prometheus
 * scrapes such a page through the k8s stack's own cadvisor job (its metric relabelling, discovery
 * swapped for a static target) and evaluates the stack's recording rules: the series must carry
 * the workload's namespace, pod and container, `name` must read `namespace/pod/container`, and
 * the per-container recordings must be keyed by it.
 */

const START = Date.now() / 1000;
const hex = (seed: string): string => seed.repeat(64 / seed.length);
const podCgroup = (uid: string) => `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid}.slice`;

interface FakeContainer {
  readonly namespace: string;
  readonly pod: string;
  /** Absent for the pod's sandbox (pause) container, which alone carries the pod's network. */
  readonly container?: string;
  readonly id: string;
  readonly image: string;
  readonly uid: string;
  readonly cpuCores: number;
  readonly memory: number;
}

const CONTAINERS: FakeContainer[] = [
  { namespace: "research", pod: "train-0", container: "main", id: hex("a1"), image: "docker.io/pytorch/pytorch:2.4.0", uid: "1111", cpuCores: 4, memory: 8e9 },
  { namespace: "research", pod: "train-0", id: hex("a0"), image: "registry.k8s.io/pause:3.10", uid: "1111", cpuCores: 0, memory: 4e5 },
  { namespace: "vision", pod: "nb-0", container: "notebook", id: hex("b1"), image: "quay.io/jupyter/base-notebook:2024-10-07", uid: "2222", cpuCores: 1, memory: 2e9 },
  { namespace: "vision", pod: "nb-0", id: hex("b0"), image: "registry.k8s.io/pause:3.10", uid: "2222", cpuCores: 0, memory: 4e5 },
];

/** One scrape of cAdvisor v0.52.1 under containerd with the stack's flags, counters growing with time. */
function cadvisorPage(): string {
  const elapsed = Date.now() / 1000 - START;
  const lines: string[] = [];
  const labels = (c: FakeContainer): string =>
    [
      ...(c.container ? [`container_label_io_kubernetes_container_name="${c.container}"`] : []),
      `container_label_io_kubernetes_pod_name="${c.pod}"`,
      `container_label_io_kubernetes_pod_namespace="${c.namespace}"`,
      `id="${podCgroup(c.uid)}/cri-containerd-${c.id}.scope"`,
      `image="${c.image}"`,
      `name="${c.id}"`,
    ].join(",");
  for (const c of CONTAINERS) {
    lines.push(`container_cpu_usage_seconds_total{${labels(c)},cpu="total"} ${(100 + c.cpuCores * elapsed).toFixed(3)}`);
    lines.push(`container_memory_working_set_bytes{${labels(c)}} ${c.memory}`);
    lines.push(`container_spec_memory_limit_bytes{${labels(c)}} ${c.memory * 2}`);
    // containerd's handler keeps network statistics only on the sandbox.
    if (!c.container) lines.push(`container_network_receive_bytes_total{${labels(c)},interface="eth0"} ${(1e6 * elapsed).toFixed(0)}`);
  }
  lines.push(`container_cpu_usage_seconds_total{cpu="total",id="/",image="",name=""} ${(1000 + 16 * elapsed).toFixed(3)}`);
  lines.push(`container_memory_working_set_bytes{id="/system.slice/containerd.service",image="",name=""} 5e8`);
  return `${lines.join("\n")}\n`;
}

const K8S_CONFIG = validateStackConfig(readStackFile(K8S_STACK));

/** The k8s stack's cadvisor job with discovery swapped for a static target (the node's name as instance, as discovery sets it). */
function renderedJob(port: number): Record<string, unknown> {
  const bundle = kubernetesBundle(K8S_CONFIG);
  const doc = parse(bundle.find((f) => f.path === "prometheus/prometheus.yml")?.content ?? "") as { scrape_configs: Record<string, unknown>[] };
  const job = doc.scrape_configs.find((c) => c["job_name"] === STACK_JOB_NAMES.cadvisor);
  if (!job) throw new Error("the k8s stack has no cadvisor job");
  const { kubernetes_sd_configs: _sd, relabel_configs: _relabel, scrape_interval: _i, scrape_timeout: _t, ...rest } = job;
  return { ...rest, static_configs: [{ targets: [`127.0.0.1:${port}`], labels: { instance: "gpu-node-1", node: "gpu-node-1" } }] };
}

describe("cAdvisor under containerd, through the k8s stack's relabelling and recordings", () => {
  let dir = "";
  let prometheus: ManagedProcess | undefined;
  let api: PrometheusApi;
  let server: Server | undefined;

  const labelsOf = async (expr: string): Promise<Record<string, string>[]> =>
    (await api.vector(expr)).map((s: Sample) => {
      const { __name__: _n, job: _j, ...rest } = s.metric;
      return rest;
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gpu-monitoring-cadvisor-"));
    server = createServer((_req, res) => res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" }).end(cadvisorPage()));
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const cadvisorPort = typeof address === "object" && address ? address.port : 0;
    await mkdir(join(dir, "rules"));
    const files = renderRuleFiles({ thresholds: thresholdsSchema.parse(undefined), alerting: alertingSchema.parse(undefined), retentionSize: "1GB", cadvisor: true });
    for (const f of files) await writeFile(join(dir, "rules", f.fileName), f.content);
    await writeFile(
      join(dir, "prometheus.yml"),
      toYaml({
        global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
        rule_files: [join(dir, "rules", "*.yml")],
        scrape_configs: [renderedJob(cadvisorPort)],
      }),
    );
    const port = await freePort();
    const started = await startPrometheus({ configFile: join(dir, "prometheus.yml"), dataDir: join(dir, "data"), port, logDir: dir });
    prometheus = started.proc;
    api = started.api;
    await waitFor(
      "the per-container rate recordings",
      async () => ((await api.vector("name:container_network_receive_bytes:rate5m")).length === 2 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs cAdvisor on a cluster keeping exactly the pod, namespace and container labels", () => {
    const variants = cadvisorDescriptor.kubernetes?.clusterSpecs?.(K8S_CONFIG, cadvisorService(K8S_CONFIG)) ?? [];
    expect(variants).toHaveLength(1);
    const args = variants[0]!.args;
    expect(args).toContain("--store_container_labels=false");
    expect(args.filter((a) => a.startsWith("--whitelisted_container_labels="))).toEqual([
      "--whitelisted_container_labels=io.kubernetes.container.name,io.kubernetes.pod.name,io.kubernetes.pod.namespace",
    ]);
  });

  it("labels each container with its workload and names it namespace/pod/container", async () => {
    const cpu = await labelsOf('container_cpu_usage_seconds_total{id!="/"}');
    expect(cpu.map((l) => [l["name"], l["namespace"], l["pod"], l["container"] ?? ""]).sort()).toEqual([
      ["research/train-0", "research", "train-0", ""],
      ["research/train-0/main", "research", "train-0", "main"],
      ["vision/nb-0", "vision", "nb-0", ""],
      ["vision/nb-0/notebook", "vision", "nb-0", "notebook"],
    ]);
    // The CRI labels are folded in, not kept twice; cAdvisor's own stay.
    for (const l of cpu) {
      expect(Object.keys(l).filter((k) => k.startsWith("container_label_"))).toEqual([]);
      expect(l["id"]).toMatch(/^\/kubepods\.slice\/.+\/cri-containerd-[0-9a-f]{64}\.scope$/);
      expect(l["instance"]).toBe("gpu-node-1");
    }
  });

  it("leaves cgroups that are no pod's as cAdvisor wrote them", async () => {
    const system = await labelsOf('{__name__=~"container_cpu_usage_seconds_total|container_memory_working_set_bytes", name=""}');
    expect(system.map((l) => l["id"]).sort()).toEqual(["/", "/system.slice/containerd.service"]);
    for (const l of system) expect([l["namespace"], l["pod"], l["container"]]).toEqual([undefined, undefined, undefined]);
  });

  it("records per-container series keyed by the workload: CPU and memory per container, network per pod", async () => {
    const cpu = Object.fromEntries((await api.vector("name:container_cpu_usage_seconds:rate5m")).map((s) => [s.metric["name"], Number(s.value[1])]));
    expect(Object.keys(cpu).sort()).toEqual(["research/train-0", "research/train-0/main", "vision/nb-0", "vision/nb-0/notebook"]);
    // A 5-minute rate over seconds of samples is scaled down alike for both: compare them.
    expect(cpu["research/train-0/main"]! / cpu["vision/nb-0/notebook"]!).toBeCloseTo(4, 1);
    const memory = Object.fromEntries((await api.vector("name:container_memory_working_set_bytes:sum")).map((s) => [s.metric["name"], Number(s.value[1])]));
    expect(memory["research/train-0/main"]).toBe(8e9);
    const network = (await api.vector("name:container_network_receive_bytes:rate5m")).map((s) => s.metric["name"]).sort();
    expect(network).toEqual(["research/train-0", "vision/nb-0"]);
  });
});
