import { describe, expect, it } from "vitest";
import { componentProbes } from "../../cli/health";
import { CONTAINER_PORTS, DEFAULT_IMAGES, DEFAULT_PORTS, DEFAULT_SCRAPE_INTERVALS, defaultImages } from "../../components/config";
import { SERVICE_BUILDERS, prometheus, registerService, registeredServices } from "../../components/services";
import { SERVICE_NAMES } from "../../components/spec";

describe("the service registry", () => {
  it("holds the built-in services in their order, which SERVICE_NAMES mirrors", () => {
    expect(registeredServices().map((d) => d.name)).toEqual(["prometheus", "alertmanager", "grafana", "nodeExporter", "dcgmExporter", "cadvisor", "exporter", "kubeStateMetrics"]);
    expect([...SERVICE_NAMES]).toEqual(registeredServices().map((d) => d.name));
  });

  it("refuses a second service of the same name, and names that cannot be config keys", () => {
    expect(() => registerService(prometheus)).toThrow(/a service named prometheus is registered already/);
    expect(() => registerService({ ...prometheus, name: "kube-state-metrics" })).toThrow(/not camelCase/);
  });

  it("keeps the older constant tables, read from the descriptors", () => {
    expect(DEFAULT_IMAGES.prometheus).toBe("prom/prometheus:v3.5.0");
    expect({ ...DEFAULT_IMAGES }).toEqual(defaultImages());
    expect(DEFAULT_PORTS.exporter).toBe(9101);
    expect(CONTAINER_PORTS.nodeExporter).toBe(9100);
    expect(DEFAULT_SCRAPE_INTERVALS.default).toBe("15s");
    expect(Object.keys(SERVICE_BUILDERS)).toEqual([...SERVICE_NAMES]);
  });

  it("lists status probes with a health endpoint first, then those judged by their metrics", () => {
    expect(componentProbes().map((p) => `${p.name} ${p.path} ${p.kind}`)).toEqual([
      "prometheus /-/healthy healthy",
      "alertmanager /-/healthy healthy",
      "grafana /api/health grafana",
      "exporter /-/healthy healthy",
      "kubeStateMetrics /healthz healthy",
      "nodeExporter /metrics metrics",
      "dcgmExporter /metrics metrics",
      "cadvisor /metrics metrics",
    ]);
  });
});
