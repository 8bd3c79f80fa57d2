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

interface Policy {
  podSelector: { matchLabels?: Record<string, string> };
  policyTypes: string[];
  ingress?: unknown[];
  egress?: { to?: unknown[]; ports?: { protocol: string; port: number }[] }[];
}
const policy = (run: K8sRun, name: string): Policy => named(run, "NetworkPolicy", name)["spec"] as Policy;
const egressPortsOf = (run: K8sRun, name: string): number[] => (policy(run, name).egress ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port));
const envOf = (run: K8sRun, workload: string): Record<string, string> =>
  Object.fromEntries(
    ((templateOf(named(run, "Deployment", workload)).spec as { containers: { env?: { name: string; value?: string }[] }[] }).containers[0]!.env ?? []).map((e) => [e.name, e.value ?? ""]),
  );

describe("Kubernetes network and Grafana defaults", () => {
  let run: K8sRun;
  let wide: K8sRun;
  beforeAll(async () => {
    run = await runK8sStack();
    wide = await runK8sStack({
      plain: {
        exporter: { simulation: false, drmUrl: "http://drm.example.org:6000" },
        extraScrapeTargets: [{ job: "lab", targets: ["gpu-node-9:9835"] }],
      },
      kubernetes: {
        prometheus: { remoteWrite: [{ url: "https://mimir.example.org:8443/api/v1/push", bearerTokenSecretKey: "mimirToken" }] },
        grafana: { ingress: { enabled: true, host: "grafana.example.org", tlsSecretName: "grafana-tls" } },
      },
      secrets: { mimirToken: "t", drmApiKey: "k" },
    });
  });

  it("the namespace denies all ingress and egress by default, then allows DNS and the namespace's own pods", () => {
    const deny = policy(run, "gpu-monitoring-default-deny");
    expect(deny.podSelector).toEqual({});
    expect(deny.policyTypes.sort()).toEqual(["Egress", "Ingress"]);
    expect(deny.ingress).toBeUndefined();
    expect(deny.egress).toBeUndefined();
    const base = policy(run, "gpu-monitoring-egress-dns-and-namespace");
    expect(base.egress).toEqual([{ ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] }, { to: [{ podSelector: {} }] }]);
  });

  it("Prometheus may reach the API server, node-exporters, remote-write and extra targets, on their ports only", () => {
    expect(egressPortsOf(run, "prometheus-egress")).toEqual([443, 6443, 9100]);
    expect(egressPortsOf(wide, "prometheus-egress")).toEqual([443, 6443, 8443, 9100, 9835]);
  });

  it("the exporter may reach the DRM coordinator's port; DCGM, cAdvisor and Grafana have no egress beyond the namespace", () => {
    expect(egressPortsOf(wide, "exporter-egress")).toEqual([6000]);
    for (const name of ["dcgm-exporter-egress", "cadvisor-egress", "grafana-egress"]) {
      expect(() => named(run, "NetworkPolicy", name), name).toThrow();
    }
  });

  it("Grafana sets cookie_secure only behind a TLS ingress, and makes no calls out", () => {
    const plain = envOf(run, "gpu-monitoring-grafana");
    const tls = envOf(wide, "gpu-monitoring-grafana");
    expect(plain["GF_SECURITY_COOKIE_SECURE"]).toBeUndefined();
    expect(tls["GF_SECURITY_COOKIE_SECURE"]).toBe("true");
    for (const env of [plain, tls]) {
      expect(env["GF_SNAPSHOTS_EXTERNAL_ENABLED"]).toBe("false");
      expect(env["GF_SECURITY_DISABLE_GRAVATAR"]).toBe("true");
      expect(env["GF_ANALYTICS_CHECK_FOR_UPDATES"]).toBe("false");
      expect(env["GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES"]).toBe("false");
      expect(env["GF_ANALYTICS_REPORTING_ENABLED"]).toBe("false");
    }
  });

  it("no container may escalate privileges, DCGM (which adds SYS_ADMIN, spelled so the API server accepts it) included", () => {
    const containers = run.objects
      .filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind))
      .flatMap((o) => (templateOf(o).spec as { containers: { name: string; securityContext?: { allowPrivilegeEscalation?: boolean; capabilities?: { add?: string[] } } }[] }).containers);
    expect(containers.length).toBeGreaterThan(5);
    for (const c of containers) {
      expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
      expect(c.securityContext?.capabilities?.add ?? [], c.name).not.toContain("CAP_SYS_ADMIN");
    }
  });
});
