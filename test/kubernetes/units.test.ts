import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ConfigError, readStackFile, validateStackConfig, type StackConfig } from "../../components/config";
import {
  buildManifests,
  dataKey,
  exporterWorkloads,
  fileObjects,
  kubernetesConfigProblems,
  kubernetesManifests,
  kubernetesSchema,
  kubernetesServiceSpecs,
  quantityBytes,
  type Manifest,
} from "../../components/platforms/kubernetes";
import type { ServiceSpec } from "../../components/spec";
import { K8S_STACK, k8sStackConfig, type RunOptions } from "./harness";

function stack(options: RunOptions = {}, secretKeys: readonly string[] = readStackFile(K8S_STACK).secretKeys): StackConfig {
  const { plain } = k8sStackConfig(options);
  return validateStackConfig({ plain, secretKeys });
}

/** The problems the config loader reports for a k8s stack config, or [] when it is accepted. */
function loaderProblems(options: RunOptions = {}): ConfigError["problems"] {
  try {
    stack(options);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

const noSecret = (k: string) => `secret:${k}`;
const prometheusArgs = (cfg: StackConfig): string[] => {
  const sts = buildManifests({ specs: kubernetesServiceSpecs(cfg), kubernetes: cfg.kubernetes, secretValue: noSecret }).find(
    (m): m is Extract<Manifest, { kind: "StatefulSet" }> => m.kind === "StatefulSet" && m.metadata.name === "gpu-monitoring-prometheus",
  )!;
  const template = sts.spec.template as { spec: { containers: { args: string[] }[] } };
  return template.spec.containers[0]!.args;
};

describe("Kubernetes cross-field checks", () => {
  it("the Prometheus volume must exceed the retention size", () => {
    const problems = loaderProblems({ plain: { retention: { time: "15d", size: "80GB" } } });
    expect(problems.map((p) => p.key)).toEqual(["kubernetes.storage.prometheus"]);
    expect(problems[0]!.message).toContain("80GB");
    expect(kubernetesConfigProblems(stack())).toEqual([]);
  });

  it("the HA replica label may not also be a configured external label", () => {
    const problems = loaderProblems({ plain: { externalLabels: { cluster: "c", replica: "a" } } });
    expect(problems.map((p) => p.key)).toEqual(["kubernetes.prometheus.replicaLabel"]);
  });

  it("a host-run exporter needs a scrape target other than Docker's host.docker.internal", () => {
    const ex = k8sStackConfig().plain["exporter"] as Record<string, unknown>;
    expect(loaderProblems({ plain: { exporter: { ...ex, run: "host" } } }).map((p) => p.key)).toEqual(["exporter.hostTarget"]);
    expect(kubernetesConfigProblems(stack({ plain: { exporter: { ...ex, run: "host", hostTarget: "gpu-exporter.ds01.svc:9101" } } }))).toEqual([]);
  });

  it("do not apply to Docker stacks", () => {
    const { plain } = k8sStackConfig({ plain: { retention: { time: "15d", size: "80GB" } } });
    const cfg = validateStackConfig({ plain: { ...plain, platform: "docker", exporter: { ...(plain["exporter"] as object), buildImage: true } }, secretKeys: readStackFile(K8S_STACK).secretKeys });
    expect(kubernetesConfigProblems(cfg)).toEqual([]);
  });

  it("reads storage quantities in bytes", () => {
    expect(quantityBytes("50Gi")).toBe(50 * 2 ** 30);
    expect(quantityBytes("500M")).toBe(5e8);
    expect(quantityBytes("1.5Ti")).toBe(1.5 * 2 ** 40);
    expect(quantityBytes("lots")).toBeUndefined();
  });
});

describe("Prometheus image versions", () => {
  it("a 2.x image gets the flag that expands ${POD_NAME} in the replica label; 3.x needs none", () => {
    expect(prometheusArgs(stack())).not.toContain("--enable-feature=expand-external-labels");
    const v2 = stack({ plain: { images: { ...(k8sStackConfig().plain["images"] as object), prometheus: "prom/prometheus:v2.53.0" } } });
    expect(prometheusArgs(v2)).toContain("--enable-feature=expand-external-labels");
  });
});

describe("exporter workloads", () => {
  it("auto follows the configured sources", () => {
    expect(exporterWorkloads(stack())).toBe("both");
    const ex = k8sStackConfig().plain["exporter"] as Record<string, unknown>;
    const { drmUrl: _d, ...ds01Only } = ex;
    // Without a DRM URL the DRM API key has nothing to do, so it is not set either.
    expect(exporterWorkloads(stack({ plain: { exporter: ds01Only } }, ["grafanaAdminPassword"]))).toBe("daemonSet");
    const { stateFile: _s, eventsFile: _e, stateDir: _sd, ...drmOnly } = ex;
    expect(exporterWorkloads(stack({ plain: { exporter: drmOnly } }))).toBe("deployment");
    expect(exporterWorkloads(stack({ kubernetes: { exporterWorkloads: "deployment" } }))).toBe("deployment");
  });
});

describe("config files", () => {
  const spec = (files: { path: string; content: string }[]): ServiceSpec =>
    ({
      name: "grafana",
      resourceName: "g",
      image: "i:1",
      args: [],
      env: {},
      secretEnv: [],
      ports: [],
      configFiles: files,
      secretFiles: [],
      dataVolumes: [],
      hostMounts: [],
      readOnlyRootFilesystem: true,
      capabilities: { add: [], drop: ["ALL"] },
      hostPid: false,
      hostNetwork: false,
      resources: { cpuRequest: "1", memoryRequest: "1Mi", cpuLimit: "1", memoryLimit: "1Mi" },
      placement: "cluster",
      labels: {},
    }) satisfies ServiceSpec;

  it("one ConfigMap per directory, each file mounted by its own key", () => {
    const f = fileObjects(spec([{ path: "/etc/a/x.yml", content: "1" }, { path: "/etc/a/b/y.json", content: "2" }]), "g", "ns", {}, noSecret);
    expect(f.configMaps.map((c) => [c.metadata.name, Object.keys(c.data)])).toEqual([
      ["g-etc-a", ["etc_a_x.yml"]],
      ["g-etc-a-b", ["etc_a_b_y.json"]],
    ]);
    expect(f.mounts.map((m) => [m.mountPath, m.subPath])).toEqual([
      ["/etc/a/x.yml", "etc_a_x.yml"],
      ["/etc/a/b/y.json", "etc_a_b_y.json"],
    ]);
    expect(dataKey("/etc/grafana/provisioning/dashboards/dashboards/gpu overview.json")).toBe("etc_grafana_provisioning_dashboards_dashboards_gpu_overview.json");
  });

  it("the roll-out key depends on content, not on file order", () => {
    const a = { path: "/etc/a/x.yml", content: "1" };
    const b = { path: "/etc/a/y.yml", content: "2" };
    const key = (files: typeof a[]) => fileObjects(spec(files), "g", "ns", {}, noSecret).checksum;
    expect(key([a, b])).toBe(key([b, a]));
    expect(key([a, { ...b, content: "3" }])).not.toBe(key([a, b]));
    expect(key([a, { ...b, path: "/etc/a/z.yml" }])).not.toBe(key([a, b]));
  });

  it("a directory over the ConfigMap size limit fails before anything is applied", () => {
    const big = "x".repeat(600 * 1024);
    expect(() => fileObjects(spec([{ path: "/d/a.json", content: big }, { path: "/d/b.json", content: big }]), "g", "ns", {}, noSecret)).toThrow(/under \/d .* ConfigMap limit/);
  });
});

describe("manifests", () => {
  it("share no objects between fields, so rendered YAML has no anchors or aliases", () => {
    const ms = kubernetesManifests(stack({ kubernetes: { prometheus: { replicas: 2 }, alertmanager: { replicas: 3 } } }), noSecret);
    expect(ms.length).toBeGreaterThan(30);
    const text = stringify(ms);
    expect(text).not.toMatch(/[&*]a\d+\b/);
  });
});

describe("schema defaults", () => {
  it("an empty kubernetes block and a missing one give the same settings", () => {
    expect(kubernetesSchema.parse(undefined)).toEqual(kubernetesSchema.parse({}));
  });
});
