import { beforeAll, describe, expect, it } from "vitest";
import { apiServerProblems, schemaProblem } from "./validate";
import { MAXIMAL } from "./fixtures";
import { readStackFile, validateStackConfig } from "../../components/config";
import { kubernetesManifests } from "../../components/platforms/kubernetes";
import { K8S_STACK, named, runK8sStack, testSecret, type K8sRun } from "./harness";

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

  it("the program declares exactly the objects kubernetesManifests renders without Pulumi", () => {
    const pure = kubernetesManifests(validateStackConfig(readStackFile(K8S_STACK)), testSecret);
    const key = (o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`;
    const declared = new Map(defaults.objects.map((o) => [key(o), o]));
    expect(pure.map(key).sort()).toEqual([...declared.keys()].sort());
    for (const m of pure) expect(declared.get(key(m)), key(m)).toEqual(JSON.parse(JSON.stringify(m)));
  });
});
