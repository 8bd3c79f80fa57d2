import { describe, expect, it } from "vitest";
import { loadStackConfigFile } from "../../components/config";
import { BUNDLE_PATHS, renderBundle } from "../../components/render";
import { SERVICE_NAMES, type ServiceName } from "../../components/spec";
import { CONTAINER, NETWORK, REMOTE_IMAGE, REPO_ROOT, VOLUME, containers, ofType, runStack, stackFile, testSecret, type StackRun } from "./harness";

const NAMES: Record<ServiceName, string> = {
  prometheus: "gpu-monitoring-prometheus",
  alertmanager: "gpu-monitoring-alertmanager",
  grafana: "gpu-monitoring-grafana",
  nodeExporter: "gpu-monitoring-node-exporter",
  dcgmExporter: "gpu-monitoring-dcgm-exporter",
  cadvisor: "gpu-monitoring-cadvisor",
  exporter: "gpu-monitoring-exporter",
};

function expectSaneGraph(run: StackRun): void {
  expect(run.error).toBeUndefined();
  // URNs are the engine's identity for a resource: two alike would make `pulumi up` fail.
  expect(new Set(run.urns).size).toBe(run.urns.length);
  expect(run.urns.length).toBe(run.resources.length);
  // Every Docker resource is a child of a component (its URN type carries the parent's type).
  for (const urn of run.urns.filter((u) => u.includes("docker:index/"))) {
    expect(urn, urn).toMatch(/::gpu-monitoring:(services|docker):\w+\$docker:index\//);
  }
  for (const urn of run.urns.filter((u) => u.includes("docker:index/container:Container"))) {
    expect(urn, urn).toMatch(/::gpu-monitoring:services:\w+\$docker:index\/container:Container::/);
  }
  expect(ofType(run, NETWORK)).toHaveLength(1);
  // One image per container.
  expect(ofType(run, REMOTE_IMAGE)).toHaveLength(ofType(run, CONTAINER).length);
  for (const c of containers(run).values()) {
    expect(c.restart).toBe("unless-stopped");
    expect(c.healthcheck?.tests[0]).toBe("CMD");
    expect(c.networksAdvanced?.[0]?.name).toBe("gpu-monitoring");
    for (const p of c.ports) expect(p.ip).toBe("127.0.0.1");
  }
  // No secret in any stack output.
  expect(Object.values(run.outputIsSecret).some(Boolean)).toBe(false);
  expect(JSON.stringify(run.outputs)).not.toContain("test-secret");
}

function upload(run: StackRun, container: string, file: string): { content: string; permissions?: string; owner?: string } | undefined {
  return containers(run).get(container)?.uploads.find((u) => u.file === file);
}

describe("dev stack (mocks)", async () => {
  const run = await runStack("dev");
  const cfg = loadStackConfigFile(stackFile("dev"));

  it("declares the expected resource graph", () => {
    expectSaneGraph(run);
    expect([...containers(run).keys()].sort()).toEqual(
      [NAMES.prometheus, NAMES.alertmanager, NAMES.grafana, NAMES.nodeExporter, NAMES.cadvisor, NAMES.exporter].sort(),
    );
    const components = run.resources.filter((r) => !r.custom).map((r) => r.type);
    expect(components).toEqual(
      expect.arrayContaining([
        "gpu-monitoring:index:MonitoringStack",
        "gpu-monitoring:docker:Platform",
        "gpu-monitoring:services:Prometheus",
        "gpu-monitoring:services:Alertmanager",
        "gpu-monitoring:services:Grafana",
        "gpu-monitoring:services:NodeExporter",
        "gpu-monitoring:services:Cadvisor",
        "gpu-monitoring:services:Ds01Exporter",
      ]),
    );
    expect(components).not.toContain("gpu-monitoring:services:DcgmExporter");
  });

  it("publishes each service's port on 127.0.0.1 at the configured host port", () => {
    const c = containers(run);
    expect(c.get(NAMES.prometheus)!.ports).toEqual([{ internal: 9090, external: 9090, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(c.get(NAMES.grafana)!.ports).toEqual([{ internal: 3000, external: 3000, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(c.get(NAMES.exporter)!.ports.map((p) => [p.internal, p.external])).toEqual([
      [9101, 9101],
      [9400, 9400],
    ]);
  });

  it("uploads the rendered bundle into each service", () => {
    const bundle = renderBundle(cfg);
    const file = (p: string): string => bundle.find((f) => f.path === p)!.content;
    expect(upload(run, NAMES.prometheus, "/etc/prometheus/prometheus.yml")?.content).toBe(file(BUNDLE_PATHS.prometheusConfig));
    expect(upload(run, NAMES.alertmanager, "/etc/alertmanager/alertmanager.yml")?.content).toBe(file(BUNDLE_PATHS.alertmanagerConfig));
    expect(upload(run, NAMES.grafana, "/etc/grafana/provisioning/datasources/datasources.yml")?.content).toBe(file(BUNDLE_PATHS.grafanaDatasources));
    const rules = bundle.filter((f) => f.path.startsWith("prometheus/rules/"));
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) expect(upload(run, NAMES.prometheus, `/etc/${r.path}`)?.content).toBe(r.content);
    const dashboards = bundle.filter((f) => f.path.startsWith(BUNDLE_PATHS.grafanaDashboards));
    expect(dashboards.length).toBeGreaterThan(0);
    for (const d of dashboards) expect(upload(run, NAMES.grafana, `/etc/${d.path}`)?.content).toBe(d.content);
  });

  it("gives Grafana its password only as a 0400 file from the secret, never in the environment", () => {
    const grafana = containers(run).get(NAMES.grafana)!;
    const pw = upload(run, NAMES.grafana, "/etc/grafana/provisioning/secrets/admin_password");
    expect(pw).toMatchObject({ content: testSecret("grafanaAdminPassword"), permissions: "0400", owner: "472" });
    expect(grafana.envs).toContain("GF_SECURITY_ADMIN_PASSWORD__FILE=/etc/grafana/provisioning/secrets/admin_password");
    expect(grafana.envs.join("\n")).not.toContain(testSecret("grafanaAdminPassword"));
    expect(grafana.envs.some((e) => e.startsWith("GF_SECURITY_ADMIN_PASSWORD="))).toBe(false);
    // The uploads holding it stay secret in Pulumi's state.
    const resource = ofType(run, CONTAINER).find((r) => r.inputs["name"] === NAMES.grafana)!;
    expect(resource.secretInputs).toContain("uploads");
    const prometheus = ofType(run, CONTAINER).find((r) => r.inputs["name"] === NAMES.prometheus)!;
    expect(prometheus.secretInputs).toEqual([]);
  });

  it("keeps Prometheus, Alertmanager and Grafana data on named volumes", () => {
    const c = containers(run);
    const dataMount = (name: string, path: string) => c.get(name)!.volumes.find((v) => v.containerPath === path)?.volumeName;
    expect(dataMount(NAMES.prometheus, "/prometheus")).toBe("gpu-monitoring-prometheus-data");
    expect(dataMount(NAMES.alertmanager, "/alertmanager")).toBe("gpu-monitoring-alertmanager-data");
    expect(dataMount(NAMES.grafana, "/var/lib/grafana")).toBe("gpu-monitoring-grafana-data");
    const volumeNames = ofType(run, VOLUME).map((v) => v.inputs["name"] as string);
    expect(volumeNames).toEqual(expect.arrayContaining(["gpu-monitoring-prometheus-data", "gpu-monitoring-alertmanager-data", "gpu-monitoring-grafana-data"]));
  });

  it("uploads config root-owned and read-only; only containers without uploads get a read-only root", () => {
    for (const [name, c] of containers(run)) {
      for (const u of c.uploads) expect(["0444", "0400"], `${name} ${u.file}`).toContain(u.permissions);
      // Docker refuses uploads into a read-only root (see dockerReadOnlyRoot).
      expect(c.readOnly, name).toBe(c.uploads.length === 0);
    }
    expect(containers(run).get(NAMES.nodeExporter)!.readOnly).toBe(true);
    expect(containers(run).get(NAMES.prometheus)!.readOnly).toBe(false);
  });

  it("runs the exporter in simulation, serving the DCGM-compatible endpoint", () => {
    const ex = containers(run).get(NAMES.exporter)!;
    expect(ex.command).toEqual(expect.arrayContaining(["--simulation", "--simulate-dcgm-port=9400", "--bind=0.0.0.0", "--metrics-port=9101"]));
    expect(ex.volumes.filter((v) => v.hostPath)).toEqual([]);
  });

  it("pulls the pinned images and builds ours from exporter/Dockerfile", () => {
    const images = new Map(ofType(run, REMOTE_IMAGE).map((r) => [r.inputs["name"] as string, r.inputs]));
    for (const s of ["prometheus", "alertmanager", "grafana", "nodeExporter", "cadvisor"] as const) {
      expect(images.get(cfg.images[s])?.["build"], s).toBeUndefined();
    }
    expect(images.get(cfg.images.exporter)?.["build"]).toEqual({ context: REPO_ROOT, dockerfile: "exporter/Dockerfile" });
    expect([...images.values()].every((i) => i["keepLocally"] === true)).toBe(true);
  });

  it("exports the URLs of Grafana, Prometheus and Alertmanager", () => {
    expect(run.outputs).toMatchObject({
      grafanaUrl: "http://127.0.0.1:3000",
      prometheusUrl: "http://127.0.0.1:9090",
      alertmanagerUrl: "http://127.0.0.1:9093",
    });
  });
});

describe("prod stack (mocks)", async () => {
  const run = await runStack("prod");

  it("declares every service, the DCGM exporter included", () => {
    expectSaneGraph(run);
    expect([...containers(run).keys()].sort()).toEqual(Object.values(NAMES).sort());
  });

  it("uploads the stack's DCGM counter list into the DCGM exporter, read-only, and points the exporter at it", () => {
    const cfg = loadStackConfigFile(stackFile("prod"));
    const list = renderBundle(cfg).find((f) => f.path === BUNDLE_PATHS.dcgmCounters)!;
    expect(list.content).toContain("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL, counter,");
    const dcgmExporter = containers(run).get(NAMES.dcgmExporter)!;
    expect(dcgmExporter.uploads).toEqual([{ file: "/etc/dcgm-exporter/gpu-monitoring-counters.csv", content: list.content, permissions: "0444" }]);
    expect(dcgmExporter.envs).toContain("DCGM_EXPORTER_COLLECTORS=/etc/dcgm-exporter/gpu-monitoring-counters.csv");
    // Only the DCGM exporter gets it.
    for (const [name, c] of containers(run)) if (name !== NAMES.dcgmExporter) expect(c.uploads.map((u) => u.file), name).not.toContain("/etc/dcgm-exporter/gpu-monitoring-counters.csv");
  });

  it("with the user's own counter list, uploads none and points the exporter at the user's, the graph otherwise alike", async () => {
    const own = await runStack("prod", { plain: { gpu: { devices: "all", collectors: "/etc/dcgm-exporter/default-counters.csv" } } });
    expectSaneGraph(own);
    const dcgmExporter = containers(own).get(NAMES.dcgmExporter)!;
    expect(dcgmExporter.uploads).toEqual([]);
    expect(dcgmExporter.envs).toContain("DCGM_EXPORTER_COLLECTORS=/etc/dcgm-exporter/default-counters.csv");
    expect([...own.urns].sort()).toEqual([...run.urns].sort());
  });

  it("gives SYS_ADMIN and GPUs to the DCGM exporter only; our exporter gets nvidia-smi (utility), nobody else GPUs", () => {
    for (const [name, c] of containers(run)) {
      const adds = c.capabilities.adds ?? [];
      expect(c.capabilities.drops).toEqual(["ALL"]);
      if (name === NAMES.dcgmExporter) {
        expect(adds).toEqual(["SYS_ADMIN"]);
        expect(c.deviceRequests).toEqual([{ driver: "nvidia", count: -1, capabilities: ["gpu"] }]);
      } else if (name === NAMES.exporter) {
        expect(adds).toEqual([]);
        expect(c.deviceRequests).toEqual([{ driver: "nvidia", count: -1, capabilities: ["utility"] }]);
      } else {
        expect(adds).not.toContain("SYS_ADMIN");
        expect(c.deviceRequests).toBeUndefined();
      }
      expect((c as unknown as Record<string, unknown>)["privileged"]).toBeUndefined();
    }
  });

  it("runs every container but DCGM and cAdvisor as a non-root user, read-only where nothing is uploaded", () => {
    for (const [name, c] of containers(run)) {
      if (name === NAMES.dcgmExporter || name === NAMES.cadvisor) continue;
      expect(c.user, name).toMatch(/^[1-9]\d*(:\d+)?$/);
    }
    expect(containers(run).get(NAMES.cadvisor)!.readOnly).toBe(true);
    expect(containers(run).get(NAMES.nodeExporter)!.readOnly).toBe(true);
    expect(containers(run).get(NAMES.exporter)!.readOnly).toBe(true);
    expect(containers(run).get(NAMES.dcgmExporter)!.readOnly).toBe(false);
  });

  it("gives cAdvisor its documented host mounts read-only: the Docker socket, not the rest of /var/run", () => {
    const mounts = containers(run).get(NAMES.cadvisor)!.volumes.filter((v) => v.hostPath);
    expect(mounts.map((m) => m.hostPath).sort()).toEqual(["/", "/dev/disk", "/sys", "/var/lib/docker", "/var/run/docker.sock"]);
    expect(mounts.every((m) => m.readOnly)).toBe(true);
  });

  it("mounts DS01's sources read-only into the exporter and passes their paths", () => {
    const ex = containers(run).get(NAMES.exporter)!;
    const hostMounts = ex.volumes.filter((v) => v.hostPath);
    expect(hostMounts.length).toBeGreaterThanOrEqual(3);
    expect(hostMounts.every((m) => m.readOnly)).toBe(true);
    expect(ex.command).toEqual(
      expect.arrayContaining([
        "--docker-socket=/host/var/run/docker.sock",
        "--events-file=/host/var/log/ds01/events.jsonl",
        "--state-dir=/host/var/lib/ds01",
        "--utmp-file=/host/var/run/utmp",
        "--groups-dir=/host/opt/ds01-infra/config/runtime/groups",
        "--cgroup-root=/host/sys/fs/cgroup",
      ]),
    );
    expect(hostMounts.map((m) => m.hostPath)).toEqual(
      expect.arrayContaining(["/var/run/utmp", "/opt/ds01-infra/config/runtime/groups", "/sys/fs/cgroup"]),
    );
    expect(ex.command).not.toContain("--simulation");
  });
});

describe("each component can be switched off", () => {
  for (const service of SERVICE_NAMES) {
    it(`${service}`, async () => {
      const enabled = service === "dcgmExporter";
      // dev has DCGM off; switching it on (with GPUs) proves the switch works both ways.
      const plain: Record<string, unknown> = enabled
        ? { components: { dcgmExporter: true }, gpu: { devices: ["0", "1"] }, exporter: { simulation: true } }
        : { components: { [service]: false } };
      const run = await runStack("dev", { plain, ...(service === "grafana" ? { remove: ["grafanaAdminPassword"] } : {}) });
      expectSaneGraph(run);
      const names = [...containers(run).keys()];
      const owned = run.resources.filter((r) => String(r.inputs["name"] ?? r.name).startsWith(NAMES[service]));
      if (enabled) {
        expect(names).toContain(NAMES.dcgmExporter);
        expect(containers(run).get(NAMES.dcgmExporter)!.deviceRequests).toEqual([{ driver: "nvidia", deviceIds: ["0", "1"], capabilities: ["gpu"] }]);
      } else {
        expect(names).not.toContain(NAMES[service]);
        expect(owned).toEqual([]);
        if (service !== "prometheus") {
          const promYml = containers(run).get(NAMES.prometheus)!.uploads.find((u) => u.file === "/etc/prometheus/prometheus.yml")!.content;
          expect(promYml).not.toContain(`${NAMES[service]}:`);
        }
      }
    });
  }
});

describe("an invalid config", () => {
  it("stops the program before any resource is created, naming the key", async () => {
    const run = await runStack("dev", { plain: { ports: { grafana: 9090 } } });
    expect(String(run.error)).toContain("gpu-monitoring:ports.");
    expect(run.resources).toEqual([]);
  });

  it("without Grafana's secret stops the program", async () => {
    const run = await runStack("dev", { remove: ["grafanaAdminPassword"] });
    expect(String(run.error)).toContain("gpu-monitoring:grafanaAdminPassword");
    expect(run.resources).toEqual([]);
  });
});

describe("the program picks the platform from the config", () => {
  it("k8s stack: Kubernetes objects and no Docker resource", async () => {
    const run = await runStack("k8s");
    expect(run.error).toBeUndefined();
    expect(new Set(run.urns).size).toBe(run.urns.length);
    expect(run.resources.some((r) => r.type.startsWith("docker:"))).toBe(false);
    expect(run.resources.some((r) => r.type.startsWith("kubernetes:"))).toBe(true);
    expect(Object.values(run.outputIsSecret).some(Boolean)).toBe(false);
    expect(run.outputs["platform"]).toBe("kubernetes");
  });
});
