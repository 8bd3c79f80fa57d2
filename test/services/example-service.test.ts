import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportFiles } from "../../cli/exportBundle";
import { MonitoringStack, validateStackConfig, type StackConfig } from "../../components";
import "../../components/platforms/kubernetes";
import { registerService, type ServiceDescriptor } from "../../components/services";
import { baseSpec, mainPort, resources } from "../../components/services/common";
import type { ServiceSpec } from "../../components/spec";
import { servicesTable } from "../../docs/generate";
import { runTool } from "../alerts/tools";
import { runCli, startServer, type LoopbackServer } from "../cli/harness";

/** The spec of a small exporter listening on its descriptor's port. */
function listenerSpec(cfg: StackConfig, service: string): ServiceSpec {
  const port = mainPort(cfg, service);
  return {
    ...baseSpec(cfg, service),
    args: [`--listen=:${port.containerPort}`],
    ports: [port],
    user: "65534:65534",
    healthCheck: { kind: "http", path: "/metrics", port: port.containerPort },
    resources: resources("10m", "16Mi", "100m", "64Mi"),
    placement: "perNode",
  };
}

/**
 * A service added through its descriptor alone: the descriptor below and one registration line,
 * no other file. It is then deployed on Docker and Kubernetes (Pulumi mocks), scraped (its job
 * in prometheus.yml, which promtool accepts), probed by `status`, and listed in the docs.
 */
const example: ServiceDescriptor = {
  name: "exampleExporter",
  componentType: "ExampleExporter",
  summary: "An example exporter added by a test",
  image: "example.org/example-exporter:1.2.3",
  port: { name: "metrics", number: 9555 },
  enabledByDefault: { dev: true, prod: false },
  scrape: { job: "example-exporter", interval: "20s", kubernetes: { perNode: true } },
  probe: { path: "/metrics", kind: "metrics" },
  build: (cfg) => listenerSpec(cfg, "exampleExporter"),
  kubernetes: {
    apiAccess: () => ({ cluster: [{ apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] }] }),
    egress: { apiServer: true },
  },
};

registerService(example);

/** A second one that exists on Kubernetes only (as kube-state-metrics does). */
const clusterOnly: ServiceDescriptor = { ...example, name: "clusterOnly", componentType: "ClusterOnly", platforms: ["kubernetes"], scrape: { job: "cluster-only", interval: "30s" }, build: (cfg) => listenerSpec(cfg, "clusterOnly") };
registerService(clusterOnly);

interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

const registered: Registered[] = [];
const secrets = { grafanaAdminPassword: pulumi.secret("example-password") };
const plain = (more: Record<string, unknown>): Record<string, unknown> => ({ profile: "dev", ...more });

/** Waits (bounded) until no resource has been registered for a few ticks. */
async function settle(): Promise<void> {
  let last = -1;
  let stable = 0;
  const deadline = Date.now() + 10_000;
  while (stable < 5 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    stable = registered.length === last ? stable + 1 : 0;
    last = registered.length;
  }
}

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        registered.push({ type: a.type, name: a.name, inputs: a.inputs as Record<string, unknown> });
        return { id: `${a.name}-id`, state: { ...a.inputs, imageId: `sha256:${a.name}` } };
      },
      call: (a) => a.inputs,
    },
    "gpu-monitoring",
    "example",
    false,
  );
});

describe("a service added through a descriptor and one registration line", () => {
  const docker = validateStackConfig({ plain: plain({}), secretKeys: ["grafanaAdminPassword"] });
  const kubernetes = validateStackConfig({
    plain: plain({ platform: "kubernetes", namePrefix: "gm-k8s", images: { exporter: "registry.example.org/exporter:1.0.0" } }),
    secretKeys: ["grafanaAdminPassword"],
  });

  it("has its config keys and defaults: on in dev, off in prod, its port and interval overridable", () => {
    expect(docker.components["exampleExporter"]).toBe(true);
    expect(docker.images["exampleExporter"]).toBe("example.org/example-exporter:1.2.3");
    expect(docker.scrapeIntervals["exampleExporter"]).toBe("20s");
    expect(validateStackConfig({ plain: { profile: "prod", gpu: { devices: "all" }, components: { exporter: false } }, secretKeys: ["grafanaAdminPassword"] }).components["exampleExporter"]).toBe(false);
    const moved = validateStackConfig({ plain: plain({ ports: { exampleExporter: 19555 } }), secretKeys: ["grafanaAdminPassword"] });
    expect(moved.ports["exampleExporter"]).toBe(19555);
    expect(() => validateStackConfig({ plain: plain({ components: { exampleExporterr: true } }), secretKeys: [] })).toThrow(/components\.exampleExporterr[\s\S]*exampleExporter/);
  });

  it("a Kubernetes-only service is off on Docker, and switching it on there names the key", () => {
    expect(docker.components["clusterOnly"]).toBe(false);
    expect(kubernetes.components["clusterOnly"]).toBe(true);
    expect(() => validateStackConfig({ plain: plain({ components: { clusterOnly: true } }), secretKeys: ["grafanaAdminPassword"] })).toThrow(
      /components\.clusterOnly: clusterOnly runs on kubernetes only, not on docker/,
    );
    const jobs = exportFiles("example", docker).find((f) => f.path === "prometheus/prometheus.yml")?.content ?? "";
    expect(jobs).not.toContain("cluster-only");
  });

  it("is deployed on Docker: its component, image and container on the stack's network", async () => {
    const stack = new MonitoringStack("docker-stack", { config: docker, secrets });
    await settle();
    const component = stack.services["exampleExporter"];
    expect(component?.spec.resourceName).toBe("gpu-monitoring-example-exporter");
    expect(registered.some((r) => r.type === "gpu-monitoring:services:ExampleExporter" && r.name === "docker-stack-exampleExporter")).toBe(true);
    const container = registered.find((r) => r.type === "docker:index/container:Container" && r.inputs["name"] === "gpu-monitoring-example-exporter");
    expect(container?.inputs["command"]).toEqual(["--listen=:9555"]);
    expect(container?.inputs["ports"]).toEqual([{ internal: 9555, external: 9555, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(registered.some((r) => r.type === "docker:index/remoteImage:RemoteImage" && r.inputs["name"] === "example.org/example-exporter:1.2.3")).toBe(true);
  });

  it("is deployed on Kubernetes: a DaemonSet, its Service, API access and NetworkPolicies", async () => {
    new MonitoringStack("k8s-stack", { config: kubernetes, secrets });
    await settle();
    const k8s = (kind: string, name: string) => registered.find((r) => r.type.endsWith(`:${kind}`) && (r.inputs["metadata"] as { name?: string } | undefined)?.name === name);
    const ds = k8s("DaemonSet", "gm-k8s-example-exporter");
    expect(ds).toBeDefined();
    const pod = (ds?.inputs["spec"] as { template: { spec: { serviceAccountName?: string; tolerations?: unknown[] } } }).template.spec;
    expect(pod.serviceAccountName).toBe("gm-k8s-example-exporter");
    expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
    expect(k8s("Service", "gm-k8s-example-exporter")).toBeDefined();
    expect(k8s("ClusterRole", "monitoring-gm-k8s-example-exporter")?.inputs["rules"]).toEqual([{ apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] }]);
    expect(k8s("ClusterRoleBinding", "monitoring-gm-k8s-example-exporter")?.inputs["subjects"]).toEqual([
      { kind: "ServiceAccount", name: "gm-k8s-example-exporter", namespace: "monitoring" },
    ]);
    const ingress = k8s("NetworkPolicy", "example-exporter-ingress")?.inputs["spec"] as { ingress: { from: unknown[] }[] };
    expect(ingress.ingress[0]?.from).toEqual([{ podSelector: { matchLabels: { "app.kubernetes.io/component": "prometheus", "app.kubernetes.io/part-of": "gpu-monitoring" } } }]);
    const egress = k8s("NetworkPolicy", "example-exporter-egress")?.inputs["spec"] as { egress: { ports: { port: number }[] }[] };
    expect(egress.egress[0]?.ports.map((p) => p.port)).toEqual([443, 6443]);
  });

  it("is scraped: its job in the exported prometheus.yml on both platforms, and promtool accepts the Docker one", async () => {
    const dockerFiles = exportFiles("example", docker);
    const yml = dockerFiles.find((f) => f.path === "prometheus/prometheus.yml")?.content ?? "";
    const jobs = (parse(yml) as { scrape_configs: { job_name: string; scrape_interval: string; static_configs?: { targets: string[] }[] }[] }).scrape_configs;
    expect(jobs.find((j) => j.job_name === "example-exporter")).toMatchObject({ scrape_interval: "20s", static_configs: [{ targets: ["gpu-monitoring-example-exporter:9555"] }] });
    expect(dockerFiles.find((f) => f.path === "docker/services.yml")?.content).toContain("gpu-monitoring-example-exporter:");
    const dir = await mkdtemp(join(tmpdir(), "gpu-monitoring-example-"));
    try {
      for (const f of dockerFiles) {
        await mkdir(dirname(join(dir, f.path)), { recursive: true });
        await writeFile(join(dir, f.path), f.content);
      }
      const check = await runTool("promtool", ["check", "config", join(dir, "prometheus", "prometheus.yml")]);
      expect(check.output).toContain("SUCCESS");
      expect(check.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const k8sFiles = exportFiles("example-k8s", kubernetes);
    const k8sJobs = (parse(k8sFiles.find((f) => f.path === "prometheus/prometheus.yml")?.content ?? "") as { scrape_configs: { job_name: string }[] }).scrape_configs;
    expect(k8sJobs.map((j) => j.job_name)).toContain("example-exporter");
    expect(k8sFiles.find((f) => f.path === "kubernetes/manifests.yaml")?.content).toMatch(/kind: DaemonSet\nmetadata:\n  name: gm-k8s-example-exporter/);
  });

  describe("is probed by status", () => {
    let server: LoopbackServer;
    beforeAll(async () => {
      server = await startServer((req, res) => {
        res.writeHead(req.path === "/metrics" ? 200 : 404, { "Content-Type": "text/plain" });
        res.end(req.path === "/metrics" ? "# TYPE example_up gauge\nexample_up 1\n" : "");
      });
    });
    afterAll(async () => server.close());

    it("takes --example-exporter-url, checks /metrics and reports it healthy", async () => {
      const r = await runCli(["status", "--example-exporter-url", server.url]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(server.requests.at(-1)).toMatchObject({ method: "GET", path: "/metrics" });
      expect(r.stdout).toMatch(/^exampleExporter\s+healthy\s/m);
    });
  });

  it("is documented: the generated services table lists it", () => {
    expect(servicesTable()).toContain("| `exampleExporter` | An example exporter added by a test | `example.org/example-exporter:1.2.3` | 9555 | `example-exporter` | docker, kubernetes | dev |");
  });
});
