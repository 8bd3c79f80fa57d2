import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { DcgmExporter, DockerPlatform, NodeExporter, serviceConfig } from "../../components";

interface Registered {
  readonly type: string;
  readonly inputs: Record<string, unknown>;
}

describe("a component used on its own from another program (docs/stack.md example)", () => {
  it("deploys node-exporter and the DCGM exporter on a GPU host, nothing else", async () => {
    const registered: Registered[] = [];
    await pulumi.runtime.setMocks(
      {
        newResource: (a) => {
          registered.push({ type: a.type, inputs: a.inputs as Record<string, unknown> });
          return { id: `${a.name}-id`, state: { ...a.inputs, imageId: `sha256:${a.name}` } };
        },
        call: (a) => a.inputs,
      },
      "other-program",
      "gpu-node-12",
      false,
    );
    // Only the two services on, the rest as in a stack file; the components take the platform's config.
    const config = serviceConfig(["nodeExporter", "dcgmExporter"], { profile: "prod", bindAddress: "10.0.0.12", exposeUnauthenticated: true, gpu: { devices: "all" } });
    expect(Object.entries(config.components).filter(([, on]) => on).map(([s]) => s)).toEqual(["nodeExporter", "dcgmExporter"]);
    const platform = new DockerPlatform("gpu-node-12", { config, secrets: {} });
    const node = new NodeExporter("node-exporter", { platform });
    // A transform patches the spec before it is deployed; the created container is reachable from the component.
    const dcgm = new DcgmExporter("dcgm-exporter", { platform, transform: (spec) => ({ ...spec, resources: { ...spec.resources, memoryLimit: "1Gi" } }) });
    expect(dcgm.deployed.container).toBeDefined();
    expect(dcgm.spec.resources.memoryLimit).toBe("1Gi");
    const urls = await Promise.all([node.url, dcgm.url].map((u) => new Promise((r) => u.apply(r))));
    expect(urls).toEqual(["http://10.0.0.12:9100", "http://10.0.0.12:9400"]);
    // Registrations finish asynchronously; wait (bounded) for both containers.
    const deadline = Date.now() + 10_000;
    while (registered.filter((r) => r.type === "docker:index/container:Container").length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const containers = registered.filter((r) => r.type === "docker:index/container:Container");
    expect(containers.map((c) => c.inputs["name"]).sort()).toEqual(["gpu-monitoring-dcgm-exporter", "gpu-monitoring-node-exporter"]);
    for (const c of containers) expect((c.inputs["ports"] as { ip: string }[])[0]!.ip).toBe("10.0.0.12");
    expect(containers.find((c) => c.inputs["name"] === "gpu-monitoring-dcgm-exporter")?.inputs["memory"]).toBe(1024);
    expect(registered.filter((r) => r.type === "docker:index/network:Network")).toHaveLength(1);
    expect(registered.map((r) => r.type)).toEqual(expect.arrayContaining(["gpu-monitoring:services:NodeExporter", "gpu-monitoring:services:DcgmExporter"]));
  });
});
