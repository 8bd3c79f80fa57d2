import { beforeAll, describe, expect, it } from "vitest";
import { apiServerProblems, schemaProblem } from "./validate";
import { MAXIMAL } from "./fixtures";
import { named, runK8sStack, type K8sRun } from "./harness";

describe("every Kubernetes object validates against the Kubernetes OpenAPI schema", () => {
  let defaults: K8sRun;
  let maximal: K8sRun;
  beforeAll(async () => {
    defaults = await runK8sStack();
    maximal = await runK8sStack(MAXIMAL);
  });

  it("declares every kind the stack needs", () => {
    const kinds = new Set(maximal.objects.map((o) => o.kind));
    for (const k of ["Namespace", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Secret", "Service", "PersistentVolumeClaim", "StatefulSet", "Deployment", "DaemonSet", "NetworkPolicy", "Ingress", "PodDisruptionBudget"]) {
      expect(kinds, k).toContain(k);
    }
  });

  it("the default k8s stack: schema and API-server rules", () => {
    expect(defaults.objects.length).toBeGreaterThan(30);
    expect(defaults.objects.map(schemaProblem).filter(Boolean)).toEqual([]);
    expect(defaults.objects.flatMap(apiServerProblems)).toEqual([]);
  });

  it("the k8s stack with every scale-out option: schema and API-server rules", () => {
    expect(maximal.objects.map(schemaProblem).filter(Boolean)).toEqual([]);
    expect(maximal.objects.flatMap(apiServerProblems)).toEqual([]);
  });

  it("the validators reject what the API server would", () => {
    const sts = named(defaults, "StatefulSet", "gpu-monitoring-prometheus");
    const spec = sts["spec"] as Record<string, unknown>;
    expect(schemaProblem({ ...sts, spec: { ...spec, replicas: "2" } })).toMatch(/replicas must be integer/);
    expect(schemaProblem({ ...sts, spec: { ...spec, podManagementPolicy: "Sometimes" } })).toMatch(/podManagementPolicy/);
    const { template: _template, ...noTemplate } = spec;
    expect(schemaProblem({ ...sts, spec: noTemplate })).toMatch(/required property template/);
    expect(apiServerProblems({ ...sts, spec: { ...spec, selector: { matchLabels: { app: "other" } } } }).join()).toMatch(/does not match/);
    const svc = named(defaults, "Service", "gpu-monitoring-grafana");
    expect(schemaProblem({ ...svc, spec: { ...(svc["spec"] as object), ports: [{ port: "http" }] } })).toMatch(/port must be integer/);
    expect(apiServerProblems({ ...svc, metadata: { ...svc.metadata, name: "Grafana_UI" } }).join()).toMatch(/invalid name/);
  });
});
