import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { readStackFile, validateStackConfig, type StackConfig } from "../../components/config";
import { kubernetesBundle, podLabelMeta } from "../../components/platforms/kubernetes";
import { filesUnder, toYaml } from "../../components/render";
import { freePort } from "../../cli/local/ports";
import type { ManagedProcess } from "../../cli/local/process";
import { startPrometheus } from "../../cli/local/services";
import { httpJson, waitFor } from "../../cli/local/wait";
import { MAXIMAL } from "./fixtures";
import { K8S_STACK, k8sStackConfig } from "./harness";

const run = promisify(execFile);

function stackConfig(options: Parameters<typeof k8sStackConfig>[0] = {}): StackConfig {
  const { plain, secrets } = k8sStackConfig(options);
  return validateStackConfig({ plain, secretKeys: [...new Set([...readStackFile(K8S_STACK).secretKeys, ...Object.keys(secrets)])] });
}

type Doc = {
  scrape_configs: Record<string, unknown>[];
  alerting?: { alertmanagers: Record<string, unknown>[] };
} & Record<string, unknown>;

/** Prometheus' kubernetes_sd_config, as its documentation defines the fields this stack uses. */
const ROLE = z.enum(["pod", "endpoints", "endpointslice", "service", "node", "ingress"]);
const LABEL_SELECTOR = /^[a-z0-9A-Z./_-]+(=|==|!=)[a-z0-9A-Z._-]*(,[a-z0-9A-Z./_-]+(=|==|!=)[a-z0-9A-Z._-]*)*$/;
const kubernetesSdSchema = z
  .strictObject({
    role: ROLE,
    namespaces: z.strictObject({ names: z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1), own_namespace: z.boolean().optional() }),
    selectors: z.array(z.strictObject({ role: ROLE, label: z.string().regex(LABEL_SELECTOR).optional(), field: z.string().optional() })).optional(),
  })
  // Prometheus refuses selectors of another role than the pod role's own.
  .refine((sd) => sd.role !== "pod" || (sd.selectors ?? []).every((s) => s.role === "pod"), "pod role takes only pod selectors");

/** Every SD block in a prometheus.yml (scrape jobs and Alertmanager discovery). */
function sdBlocks(doc: Doc): unknown[] {
  return [...doc.scrape_configs, ...(doc.alerting?.alertmanagers ?? [])].flatMap((c) => (c["kubernetes_sd_configs"] as unknown[]) ?? []);
}

/** The config with every kubernetes_sd_configs replaced by static targets carrying `labels`. */
function withStaticTargets(doc: Doc, targets: (job: string) => { targets: string[]; labels: Record<string, string> }[]): Doc {
  const swap = (c: Record<string, unknown>, job: string) => {
    if (!c["kubernetes_sd_configs"]) return c;
    const { kubernetes_sd_configs: _sd, ...rest } = c;
    return { ...rest, static_configs: targets(job) };
  };
  return {
    ...doc,
    scrape_configs: doc.scrape_configs.map((c) => swap(c, String(c["job_name"]))),
    ...(doc.alerting ? { alerting: { ...doc.alerting, alertmanagers: doc.alerting.alertmanagers.map((a) => swap(a, "alertmanager")) } } : {}),
  };
}

let workdir: string;
beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), "gpu-monitoring-k8s-prom-"));
});
afterAll(async () => {
  await rm(workdir, { recursive: true, force: true });
});

/** Writes the bundle's prometheus/ files (prometheus.yml with `doc`, and the rules) to a fresh dir. */
async function writePrometheusDir(cfg: StackConfig, name: string, doc?: Doc): Promise<string> {
  const dir = join(workdir, name);
  for (const f of filesUnder(kubernetesBundle(cfg), "prometheus")) {
    await mkdir(dirname(join(dir, f.path)), { recursive: true });
    await writeFile(join(dir, f.path), f.path === "prometheus.yml" && doc ? toYaml(doc) : f.content);
  }
  return join(dir, "prometheus.yml");
}

async function promtool(file: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run("promtool", ["check", "config", file], { timeout: 60_000 });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

const CONFIGS = { "the k8s stack": {}, "every scale-out option": MAXIMAL, "one replica each": { kubernetes: { prometheus: { replicas: 1 }, alertmanager: { replicas: 1 } } } } as const;

describe("prometheus.yml with Kubernetes discovery passes promtool check config", () => {
  for (const [label, options] of Object.entries(CONFIGS)) {
    it(label, async () => {
      const cfg = stackConfig(options);
      const doc = parse(kubernetesBundle(cfg).find((f) => f.path === "prometheus/prometheus.yml")!.content) as Doc;
      const blocks = sdBlocks(doc);
      expect(blocks.length).toBeGreaterThanOrEqual(7);
      for (const b of blocks) expect(kubernetesSdSchema.safeParse(b).error?.issues ?? []).toEqual([]);

      const original = await promtool(await writePrometheusDir(cfg, `${label}-as-is`));
      if (original.ok) return; // A promtool built with Kubernetes discovery checked everything as it is.
      // Debian's promtool is built without Kubernetes discovery; that, and nothing else, may fail.
      expect(original.output).toMatch(/field kubernetes_sd_configs not found/);
      const problems = original.output.split("\n").filter((l) => /^\s+line \d+:/.test(l) && !/kubernetes_sd_configs not found/.test(l));
      expect(problems).toEqual([]);
      // The rest of the file (relabel rules, regexes, remote_write, alerting, rule files) is checked with static targets in place of discovery.
      const swapped = await promtool(await writePrometheusDir(cfg, `${label}-static`, withStaticTargets(doc, () => [{ targets: ["127.0.0.1:9"], labels: {} }])));
      expect(swapped.output).toContain("SUCCESS");
      expect(swapped.ok, swapped.output).toBe(true);
    });
  }

  it("the schema check rejects what Prometheus rejects", () => {
    expect(kubernetesSdSchema.safeParse({ role: "pods", namespaces: { names: ["monitoring"] } }).success).toBe(false);
    expect(kubernetesSdSchema.safeParse({ role: "pod", namespaces: { names: ["monitoring"] }, selectors: [{ role: "node", label: "a=b" }] }).success).toBe(false);
    expect(kubernetesSdSchema.safeParse({ role: "pod", namespaces: { names: ["monitoring"] }, selector: [] }).success).toBe(false);
  });
});

/** Discovered pods as Prometheus' pod role labels them. */
interface FakePod {
  readonly component: string;
  readonly portName: string;
  readonly phase: string;
  readonly node: string;
  readonly pod: string;
  readonly container: string;
}
function podLabels(p: FakePod): Record<string, string> {
  return {
    [podLabelMeta("app.kubernetes.io/component")]: p.component,
    [podLabelMeta("app.kubernetes.io/part-of")]: "gpu-monitoring",
    __meta_kubernetes_pod_container_port_name: p.portName,
    __meta_kubernetes_pod_phase: p.phase,
    __meta_kubernetes_pod_node_name: p.node,
    __meta_kubernetes_namespace: "monitoring",
    __meta_kubernetes_pod_name: p.pod,
    __meta_kubernetes_pod_container_name: p.container,
  };
}

describe("relabelling, run by a real Prometheus", () => {
  let prometheus: ManagedProcess | undefined;
  let base = "";
  const pods: FakePod[] = [
    { component: "node-exporter", portName: "metrics", phase: "Running", node: "gpu-node-1", pod: "ne-a1", container: "gpu-monitoring-node-exporter" },
    { component: "node-exporter", portName: "other", phase: "Running", node: "gpu-node-1", pod: "ne-a1", container: "gpu-monitoring-node-exporter" },
    { component: "node-exporter", portName: "metrics", phase: "Pending", node: "gpu-node-2", pod: "ne-b2", container: "gpu-monitoring-node-exporter" },
    { component: "cadvisor", portName: "metrics", phase: "Running", node: "gpu-node-1", pod: "ca-c3", container: "gpu-monitoring-cadvisor" },
    { component: "exporter", portName: "metrics", phase: "Running", node: "cpu-node-1", pod: "gpu-monitoring-exporter-5d9c", container: "gpu-monitoring-exporter" },
    { component: "kube-state-metrics", portName: "http-metrics", phase: "Running", node: "cpu-node-1", pod: "gpu-monitoring-kube-state-metrics-6c9f7", container: "gpu-monitoring-kube-state-metrics" },
  ];

  beforeAll(async () => {
    const cfg = stackConfig();
    const doc = parse(kubernetesBundle(cfg).find((f) => f.path === "prometheus/prometheus.yml")!.content) as Doc;
    const scrapePort = await freePort(); // nothing listens there: only the target labels matter
    // Every job is offered every fake pod; its relabelling must keep only its own.
    const configured = withStaticTargets(doc, () => pods.map((p) => ({ targets: [`127.0.0.1:${scrapePort}`], labels: podLabels(p) })));
    const file = await writePrometheusDir(cfg, "relabel", { ...configured, remote_write: undefined } as Doc);
    const port = await freePort();
    const started = await startPrometheus({ configFile: file, dataDir: join(workdir, "relabel-data"), port, logDir: workdir });
    prometheus = started.proc;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await prometheus?.stop();
  });

  interface Targets {
    data: { activeTargets: { scrapePool: string; labels: Record<string, string> }[]; droppedTargets: unknown[] };
  }
  const targets = () =>
    waitFor(
      "discovered targets",
      async () => {
        const t = await httpJson<Targets>(`${base}/api/v1/targets?state=any`);
        return t.data.activeTargets.length > 0 ? t.data : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );

  it("keeps each job's own running pods on the named port, labelled with node, namespace, pod and container", async () => {
    const t = await targets();
    const byPool = (pool: string) => t.activeTargets.filter((a) => a.scrapePool === pool).map((a) => a.labels);
    expect(byPool("node-exporter")).toEqual([
      { job: "node-exporter", instance: "gpu-node-1", node: "gpu-node-1", namespace: "monitoring", pod: "ne-a1", container: "gpu-monitoring-node-exporter" },
    ]);
    // A Deployment's pod is its own instance; a DaemonSet's is its node. DS01's series carry
    // `container` as data (the user's container), so the exporter's own is not a target label.
    expect(byPool("ds01-exporter")).toEqual([
      { job: "ds01-exporter", instance: "gpu-monitoring-exporter-5d9c", node: "cpu-node-1", namespace: "monitoring", pod: "gpu-monitoring-exporter-5d9c" },
    ]);
    // cAdvisor's port is named http: the fake pod's "metrics" port is not scraped.
    expect(byPool("cadvisor")).toEqual([]);
    expect(byPool("dcgm-exporter")).toEqual([]);
    // kube-state-metrics' series name other pods and nodes: its target carries none of those labels.
    expect(byPool("kube-state-metrics")).toEqual([{ job: "kube-state-metrics", instance: "gpu-monitoring-kube-state-metrics-6c9f7" }]);
    // Eight stack jobs (the k8s stack has no extra targets), each offered every fake pod; three kept.
    expect(t.droppedTargets.length).toBe(8 * pods.length - 3);
  });
});

describe("workload labels against target labels, in scraped series", () => {
  let prometheus: ManagedProcess | undefined;
  const servers: Server[] = [];
  let base = "";
  // dcgm-exporter's pod mapping labels a GPU a pod uses with that pod; a free GPU has none.
  const DCGM_PAGE = [
    'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-0",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-1",DCGM_FI_DRIVER_VERSION="550.127.08",container="trainer",namespace="research",pod="llm-train-0"} 91',
    'DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-1",pci_bus_id="00000000:17:00.0",device="nvidia1",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-1",DCGM_FI_DRIVER_VERSION="550.127.08"} 0',
    "",
  ].join("\n");
  const EXPORTER_PAGE = [
    'ds01_gpu_allocated{gpu_slot="0",gpu_uuid="GPU-0",profile="full",container="thesis._.1001",user="alice",interface="atomic"} 1',
    "ds01_exporter_scrape_duration_seconds 0.002",
    "",
  ].join("\n");

  async function serve(page: string): Promise<number> {
    const server = createServer((_req, res) => res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" }).end(page));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    return typeof address === "object" && address ? address.port : 0;
  }

  beforeAll(async () => {
    const cfg = stackConfig();
    const doc = parse(kubernetesBundle(cfg).find((f) => f.path === "prometheus/prometheus.yml")!.content) as Doc;
    const [dcgmPort, exporterPort] = [await serve(DCGM_PAGE), await serve(EXPORTER_PAGE)];
    const pods: Record<string, { port: number; pod: FakePod }> = {
      "dcgm-exporter": { port: dcgmPort, pod: { component: "dcgm-exporter", portName: "metrics", phase: "Running", node: "gpu-node-1", pod: "dcgm-exporter-x7", container: "gpu-monitoring-dcgm-exporter" } },
      "ds01-exporter": { port: exporterPort, pod: { component: "exporter", portName: "metrics", phase: "Running", node: "gpu-node-1", pod: "gpu-monitoring-exporter-k2", container: "gpu-monitoring-exporter" } },
    };
    const configured = withStaticTargets(doc, (job) => {
      const p = pods[job];
      return p ? [{ targets: [`127.0.0.1:${p.port}`], labels: podLabels(p.pod) }] : [];
    });
    // Scraped every second, so the series show up within the test's patience.
    const fast = configured.scrape_configs.map((c) => ({ ...c, scrape_interval: "1s", scrape_timeout: "1s" }));
    const file = await writePrometheusDir(cfg, "workload-labels", { ...configured, scrape_configs: fast, remote_write: undefined } as Doc);
    const port = await freePort();
    const started = await startPrometheus({ configFile: file, dataDir: join(workdir, "workload-labels-data"), port, logDir: workdir });
    prometheus = started.proc;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await prometheus?.stop();
    for (const s of servers) s.close();
  });

  const series = (selector: string) =>
    waitFor(
      `series ${selector}`,
      async () => {
        const r = await httpJson<{ data: { result: { metric: Record<string, string> }[] } }>(`${base}/api/v1/query?query=${encodeURIComponent(selector)}`);
        return r.data.result.length > 0 ? r.data.result.map((x) => x.metric) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );

  it("a GPU a pod uses keeps the workload's pod, a free GPU gets none, and the node stays", async () => {
    const byGpu = Object.fromEntries((await series("DCGM_FI_DEV_GPU_UTIL")).map((m) => [m.gpu, m]));
    expect(byGpu["0"]).toMatchObject({ pod: "llm-train-0", namespace: "research", container: "trainer", node: "gpu-node-1", instance: "gpu-node-1" });
    expect(byGpu["1"]!.node).toBe("gpu-node-1");
    for (const label of ["pod", "namespace", "container"]) expect(byGpu["1"], `free GPU's ${label}`).not.toHaveProperty(label);
  });

  it("DS01's container label is the user's container, not the exporter's, and nothing is renamed exported_*", async () => {
    const [allocated] = await series("ds01_gpu_allocated");
    expect(allocated).toMatchObject({ container: "thesis._.1001", user: "alice", pod: "gpu-monitoring-exporter-k2", namespace: "monitoring", node: "gpu-node-1" });
    expect(Object.keys(allocated!).filter((k) => k.startsWith("exported_"))).toEqual([]);
    // The exporter's own series name their pod.
    const [self] = await series("ds01_exporter_scrape_duration_seconds");
    expect(self).toMatchObject({ pod: "gpu-monitoring-exporter-k2", namespace: "monitoring" });
    expect(self).not.toHaveProperty("container");
  });
});
