import { beforeAll, describe, expect, it } from "vitest";
import { CONFIG_CHECKSUM_ANNOTATION } from "../../components/platforms/kubernetes";
import { renderDcgmCounters } from "../../metrics";
import { named, ofKind, runK8sStack, templateOf, workloads, type K8sObject, type K8sRun } from "./harness";
import { MAXIMAL } from "./fixtures";

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}
interface Pod {
  containers: Container[];
  volumes?: { name: string; hostPath?: { path: string }; secret?: unknown; configMap?: unknown }[];
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  hostPID?: boolean;
  hostNetwork?: boolean;
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, string>[];
  runtimeClassName?: string;
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
}

const pod = (o: K8sObject): Pod => templateOf(o).spec as unknown as Pod;
const container = (o: K8sObject): Container => pod(o).containers[0]!;

/** Components that run as root, and why (asserted so the list cannot grow unnoticed). */
const ROOT = new Set(["gpu-monitoring-dcgm-exporter", "gpu-monitoring-cadvisor"]);
/** Components that keep a writable root filesystem: DCGM's host engine writes under /var and /tmp. */
const WRITABLE_ROOT = new Set(["gpu-monitoring-dcgm-exporter"]);

describe("workloads", () => {
  let run: K8sRun;
  let maximal: K8sRun;
  let ownCounters: K8sRun;
  beforeAll(async () => {
    run = await runK8sStack();
    maximal = await runK8sStack(MAXIMAL);
    ownCounters = await runK8sStack({ plain: { gpu: { devices: "all", collectors: "/etc/dcgm-exporter/default-counters.csv" } } });
  });

  it("has the workload kinds the issue asks for", () => {
    const kinds = Object.fromEntries(workloads(run).map((w) => [w.metadata.name, w.kind]));
    expect(kinds).toEqual({
      "gpu-monitoring-prometheus": "StatefulSet",
      "gpu-monitoring-alertmanager": "StatefulSet",
      "gpu-monitoring-grafana": "Deployment",
      "gpu-monitoring-node-exporter": "DaemonSet",
      "gpu-monitoring-dcgm-exporter": "DaemonSet",
      "gpu-monitoring-cadvisor": "DaemonSet",
      // The k8s stack has DS01 node sources and a DRM URL: both exporter workloads.
      "gpu-monitoring-exporter": "Deployment",
      "gpu-monitoring-exporter-node": "DaemonSet",
      "gpu-monitoring-kube-state-metrics": "Deployment",
    });
  });

  it("selectors match their own pods' labels and no other workload's", () => {
    const all = [...workloads(run), ...workloads(maximal)];
    for (const w of all) {
      const sel = (w["spec"] as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      const matches = (labels: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
      expect(matches(templateOf(w).metadata.labels), w.metadata.name).toBe(true);
      const others = workloads(run).filter((o) => o.metadata.name !== w.metadata.name);
      for (const o of others) expect(matches(templateOf(o).metadata.labels), `${w.metadata.name} vs ${o.metadata.name}`).toBe(false);
    }
  });

  it("every Service selects the pods of its workload and targets a port they declare", () => {
    for (const svc of ofKind(run, "Service")) {
      const spec = svc["spec"] as { selector: Record<string, string>; ports: { targetPort: string | number }[] };
      const selected = workloads(run).filter((w) => Object.entries(spec.selector).every(([k, v]) => templateOf(w).metadata.labels[k] === v));
      expect(selected.length, svc.metadata.name).toBe(1);
      const declared = new Set((container(selected[0]!).ports ?? []).flatMap((p) => [p.name, p.containerPort]));
      for (const p of spec.ports) expect(declared.has(p.targetPort as never), `${svc.metadata.name} → ${p.targetPort}`).toBe(true);
    }
  });

  it("every container has requests and limits, liveness and readiness probes, and a securityContext", () => {
    for (const w of [...workloads(run), ...workloads(maximal)]) {
      for (const c of pod(w).containers) {
        const where = `${w.metadata.name}/${c.name}`;
        for (const r of ["cpu", "memory"]) {
          expect(c.resources?.requests?.[r], `${where} request ${r}`).toMatch(/^\d/);
          expect(c.resources?.limits?.[r], `${where} limit ${r}`).toMatch(/^\d/);
        }
        expect(c.livenessProbe, where).toBeDefined();
        expect(c.readinessProbe, where).toBeDefined();
        expect(c.securityContext, where).toBeDefined();
        expect(c.securityContext?.privileged, where).toBe(false);
        expect(c.securityContext?.capabilities?.drop, where).toEqual(["ALL"]);
      }
    }
  });

  it("probes hit each component's health endpoint on a declared port", () => {
    const paths = Object.fromEntries(
      workloads(run).map((w) => [w.metadata.name, (container(w).readinessProbe as { httpGet?: { path: string } }).httpGet?.path]),
    );
    expect(paths["gpu-monitoring-prometheus"]).toBe("/-/healthy");
    expect(paths["gpu-monitoring-alertmanager"]).toBe("/-/healthy");
    expect(paths["gpu-monitoring-grafana"]).toBe("/api/health");
    expect(paths["gpu-monitoring-dcgm-exporter"]).toBe("/health");
    expect(paths["gpu-monitoring-cadvisor"]).toBe("/healthz");
    expect(paths["gpu-monitoring-exporter"]).toBe("/-/healthy");
    for (const w of workloads(run)) {
      const port = (container(w).livenessProbe as { httpGet: { port: number } }).httpGet.port;
      expect((container(w).ports ?? []).map((p) => p.containerPort), w.metadata.name).toContain(port);
    }
  });

  it("runs non-root with a read-only root filesystem, except the listed components", () => {
    for (const w of workloads(run)) {
      const sc = container(w).securityContext!;
      const name = w.metadata.name;
      expect(sc.runAsNonRoot, name).toBe(!ROOT.has(name));
      expect(sc.runAsUser === 0, name).toBe(ROOT.has(name));
      expect(sc.readOnlyRootFilesystem, name).toBe(!WRITABLE_ROOT.has(name));
      expect(pod(w).securityContext?.seccompProfile?.type, name).toBe("RuntimeDefault");
    }
  });

  it("only DCGM adds a capability, and only SYS_ADMIN; no container may escalate, DCGM included", () => {
    const adds = Object.fromEntries(workloads(run).map((w) => [w.metadata.name, container(w).securityContext?.capabilities?.add ?? []]));
    expect(adds["gpu-monitoring-dcgm-exporter"]).toEqual(["SYS_ADMIN"]);
    // cAdvisor keeps the one read-only capability the service spec documents.
    expect(adds["gpu-monitoring-cadvisor"]).toEqual(["DAC_READ_SEARCH"]);
    for (const [name, caps] of Object.entries(adds)) {
      if (name === "gpu-monitoring-dcgm-exporter" || name === "gpu-monitoring-cadvisor") continue;
      expect(caps, name).toEqual([]);
    }
    for (const w of workloads(run)) {
      expect(container(w).securityContext?.allowPrivilegeEscalation, w.metadata.name).toBe(false);
    }
  });

  it("only Prometheus and kube-state-metrics get a service-account token", () => {
    const readers = ["gpu-monitoring-prometheus", "gpu-monitoring-kube-state-metrics"];
    for (const w of workloads(run)) {
      const p = pod(w);
      const reads = readers.includes(w.metadata.name);
      expect(p.automountServiceAccountToken, w.metadata.name).toBe(reads);
      expect(p.serviceAccountName, w.metadata.name).toBe(reads ? w.metadata.name : undefined);
    }
    for (const sa of ofKind(run, "ServiceAccount")) expect(sa["automountServiceAccountToken"]).toBe(false);
  });

  it("DCGM exporter runs only on GPU nodes, with the runtime class, and reads pod-resources read-only", () => {
    const dcgm = named(maximal, "DaemonSet", "gpu-monitoring-dcgm-exporter");
    const p = pod(dcgm);
    expect(p.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" });
    expect(p.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(p.runtimeClassName).toBe("nvidia");
    const podResources = p.volumes?.find((v) => v.hostPath?.path === "/var/lib/kubelet/pod-resources");
    expect(podResources).toBeDefined();
    const mount = container(dcgm).volumeMounts?.find((m) => m.name === podResources!.name);
    expect(mount).toMatchObject({ mountPath: "/var/lib/kubelet/pod-resources", readOnly: true });
    expect(container(dcgm).env).toContainEqual({ name: "DCGM_EXPORTER_KUBERNETES", value: "true" });
    // Without runtimeClassName in the config, none is set.
    expect(pod(named(run, "DaemonSet", "gpu-monitoring-dcgm-exporter")).runtimeClassName).toBeUndefined();
    // Besides DCGM only the exporter's node reader gets the runtime class, for `nvidia-smi -L`
    // (device UUIDs to DS01 slots) with the utility capability and no GPU to compute on.
    const nodeReaders = workloads(maximal).filter((w) => w.metadata.name === "gpu-monitoring-exporter-node");
    expect(nodeReaders).toHaveLength(1);
    for (const w of nodeReaders) {
      expect(pod(w).runtimeClassName).toBe("nvidia");
      expect(container(w).env).toEqual(expect.arrayContaining([{ name: "NVIDIA_VISIBLE_DEVICES", value: "all" }, { name: "NVIDIA_DRIVER_CAPABILITIES", value: "utility" }]));
      expect(container(w).resources?.limits ?? {}).not.toHaveProperty("nvidia.com/gpu");
    }
    for (const w of workloads(maximal)) {
      if (w.metadata.name !== dcgm.metadata.name && !nodeReaders.includes(w)) expect(pod(w).runtimeClassName, w.metadata.name).toBeUndefined();
    }
  });

  it("DCGM exporter reads the stack's counter list from a ConfigMap mounted read-only at the path its env names", () => {
    const dcgm = named(run, "DaemonSet", "gpu-monitoring-dcgm-exporter");
    const path = "/etc/dcgm-exporter/gpu-monitoring-counters.csv";
    expect(container(dcgm).env).toContainEqual({ name: "DCGM_EXPORTER_COLLECTORS", value: path });
    const mount = container(dcgm).volumeMounts?.find((m) => m.mountPath === path);
    // One file by subPath: the image's own lists in /etc/dcgm-exporter stay visible.
    expect(mount).toMatchObject({ readOnly: true, subPath: "etc_dcgm-exporter_gpu-monitoring-counters.csv" });
    const volume = pod(dcgm).volumes?.find((v) => v.name === mount!.name) as { configMap?: { name: string } } | undefined;
    const cm = named(run, "ConfigMap", volume!.configMap!.name);
    expect((cm["data"] as Record<string, string>)[mount!.subPath!]).toBe(renderDcgmCounters());
    // The user's own list replaces it: no ConfigMap, the env names the user's file.
    const ownDcgm = named(ownCounters, "DaemonSet", "gpu-monitoring-dcgm-exporter");
    expect(container(ownDcgm).env).toContainEqual({ name: "DCGM_EXPORTER_COLLECTORS", value: "/etc/dcgm-exporter/default-counters.csv" });
    expect(container(ownDcgm).volumeMounts?.some((m) => m.mountPath.startsWith("/etc/dcgm-exporter/"))).toBe(false);
    expect(ofKind(ownCounters, "ConfigMap").some((c) => c.metadata.name === cm.metadata.name)).toBe(false);
  });

  it("node-exporter uses the host's PID and network namespaces and reads /proc, /sys and / read-only", () => {
    const ne = named(run, "DaemonSet", "gpu-monitoring-node-exporter");
    const p = pod(ne);
    expect(p.hostPID).toBe(true);
    expect(p.hostNetwork).toBe(true);
    expect(p.tolerations).toEqual([{ operator: "Exists" }]);
    const hostVolumes = Object.fromEntries((p.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
    const mounts = (container(ne).volumeMounts ?? []).filter((m) => m.name in hostVolumes);
    expect(mounts.map((m) => [hostVolumes[m.name], m.mountPath, m.readOnly]).sort()).toEqual(
      [
        ["/", "/host/root", true],
        ["/proc", "/host/proc", true],
        ["/sys", "/host/sys", true],
      ].sort(),
    );
    expect(mounts.find((m) => m.mountPath === "/host/root")).toMatchObject({ mountPropagation: "HostToContainer" });
    // Only node-exporter shares the host's namespaces.
    for (const w of workloads(run)) if (w !== ne) expect([pod(w).hostPID, pod(w).hostNetwork], w.metadata.name).toEqual([false, false]);
  });

  it("every host path is mounted read-only", () => {
    for (const w of [...workloads(run), ...workloads(maximal)]) {
      const hostVolumes = new Set((pod(w).volumes ?? []).filter((v) => v.hostPath).map((v) => v.name));
      for (const m of container(w).volumeMounts ?? []) if (hostVolumes.has(m.name)) expect(m.readOnly, `${w.metadata.name} ${m.mountPath}`).toBe(true);
    }
  });

  it("splits the exporter: the Deployment reads DRM, the GPU-node DaemonSet reads DS01's host files", () => {
    const dep = named(run, "Deployment", "gpu-monitoring-exporter");
    const ds = named(run, "DaemonSet", "gpu-monitoring-exporter-node");
    const depArgs = container(dep).args ?? [];
    const dsArgs = container(ds).args ?? [];
    expect(depArgs.some((a) => a.startsWith("--drm-url="))).toBe(true);
    expect(depArgs.some((a) => /^--(state-file|events-file|state-dir|docker-socket)=/.test(a))).toBe(false);
    expect(dsArgs.some((a) => a.startsWith("--state-file="))).toBe(true);
    expect(dsArgs.some((a) => a.startsWith("--drm-url=") || a.startsWith("--api-key-file="))).toBe(false);
    expect((pod(dep).volumes ?? []).some((v) => v.hostPath)).toBe(false);
    expect(pod(ds).nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" });
    // The DRM API key reaches the Deployment only.
    expect((pod(dep).volumes ?? []).some((v) => v.secret)).toBe(true);
    expect((pod(ds).volumes ?? []).some((v) => v.secret)).toBe(false);
  });

  it("Prometheus and Alertmanager keep data on claim templates; Grafana on its own claim", () => {
    const prom = named(maximal, "StatefulSet", "gpu-monitoring-prometheus");
    const claims = (prom["spec"] as { volumeClaimTemplates: { metadata: { name: string }; spec: { resources: { requests: { storage: string } }; storageClassName?: string } }[] }).volumeClaimTemplates;
    expect(claims.map((c) => [c.metadata.name, c.spec.resources.requests.storage, c.spec.storageClassName])).toEqual([["data", "100Gi", "fast-ssd"]]);
    expect(container(prom).volumeMounts).toContainEqual({ name: "data", mountPath: "/prometheus" });
    expect(container(prom).args).toContain("--storage.tsdb.retention.time=15d");
    expect(container(prom).args).toContain("--storage.tsdb.retention.size=40GB");
    const pvc = named(maximal, "PersistentVolumeClaim", "gpu-monitoring-grafana-data");
    expect(pvc["spec"]).toMatchObject({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } }, storageClassName: "fast-ssd" });
    const grafana = named(maximal, "Deployment", "gpu-monitoring-grafana");
    expect((grafana["spec"] as { strategy: { type: string } }).strategy.type).toBe("Recreate");
    expect(pod(grafana).volumes).toContainEqual({ name: "data", persistentVolumeClaim: { claimName: "gpu-monitoring-grafana-data" } });
  });

  it("per-component resource overrides apply field by field", () => {
    const prom = container(named(maximal, "StatefulSet", "gpu-monitoring-prometheus"));
    expect(prom.resources?.limits?.["memory"]).toBe("8Gi");
    expect(prom.resources?.limits?.["cpu"]).toBe(container(named(run, "StatefulSet", "gpu-monitoring-prometheus")).resources?.limits?.["cpu"]);
  });

  it("configs come from ConfigMaps, secrets from Secrets, and every pod template carries a config checksum", () => {
    for (const w of workloads(run)) expect(templateOf(w).metadata.annotations?.[CONFIG_CHECKSUM_ANNOTATION], w.metadata.name).toMatch(/^[0-9a-f]{64}$/);
    const grafana = named(run, "Deployment", "gpu-monitoring-grafana");
    const secretVolume = pod(grafana).volumes?.find((v) => v.secret) as { name: string; secret: { secretName: string } };
    expect(secretVolume.secret.secretName).toBe("gpu-monitoring-grafana-secrets");
    expect(container(grafana).volumeMounts).toContainEqual(expect.objectContaining({ name: secretVolume.name, mountPath: "/etc/grafana/provisioning/secrets/admin_password", readOnly: true }));
    // The password is in the Secret, as a Pulumi secret, and in no other object.
    const secret = named(run, "Secret", "gpu-monitoring-grafana-secrets");
    expect(Object.values(secret["stringData"] as Record<string, string>)).toContain("test-secret-grafanaAdminPassword");
    const secretRes = run.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name.includes("grafana"));
    expect(secretRes?.secretPaths.some((p) => p.startsWith("stringData"))).toBe(true);
    for (const o of run.objects) {
      if (o.kind === "Secret") continue;
      expect(JSON.stringify(o), `${o.kind}/${o.metadata.name}`).not.toMatch(/test-secret-/);
    }
  });
});
