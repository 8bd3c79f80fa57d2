import { beforeAll, describe, expect, it } from "vitest";
import { named, runK8sStack, templateOf, type K8sRun } from "./harness";

interface HostVolume {
  name: string;
  hostPath?: { path: string };
}

const hostPaths = (run: K8sRun, workload: string): string[] =>
  ((templateOf(named(run, "DaemonSet", workload)).spec as { volumes?: HostVolume[] }).volumes ?? []).flatMap((v) => (v.hostPath ? [v.hostPath.path] : []));

describe("Kubernetes hardening", () => {
  let run: K8sRun;
  beforeAll(async () => {
    run = await runK8sStack();
  });

  it("cAdvisor mounts containerd's socket, not /run or /var/run, and no Docker socket", () => {
    const paths = hostPaths(run, "gpu-monitoring-cadvisor");
    expect(paths).toContain("/run/containerd/containerd.sock");
    for (const p of ["/var/run", "/run", "/var/run/docker.sock"]) expect(paths).not.toContain(p);
  });
});
