import { STACK_JOB_NAMES } from "../../metrics/jobs";
import type { StackConfig } from "../config/resolve";
import type { ServiceSpec } from "../spec";
import { NOBODY, baseSpec, mainPort, resources, wgetHealth } from "./common";
import type { ServiceDescriptor } from "./descriptor";

/**
 * node-exporter with the host's /proc, /sys and / mounted read-only, as upstream documents for
 * containers. It stays on the stack network (DS01's way) so Prometheus reaches it by name.
 */
export function nodeExporterService(cfg: StackConfig): ServiceSpec {
  const port = mainPort(cfg, "nodeExporter");
  return {
    ...baseSpec(cfg, "nodeExporter"),
    args: [
      "--path.procfs=/host/proc",
      "--path.sysfs=/host/sys",
      "--path.rootfs=/host/root",
      `--web.listen-address=:${port.containerPort}`,
      "--collector.filesystem.mount-points-exclude=^/(sys|proc|dev|host|etc)($|/)",
      "--no-collector.arp",
      "--no-collector.infiniband",
      "--no-collector.ipvs",
      "--no-collector.nfs",
      "--no-collector.nfsd",
    ],
    ports: [port],
    hostMounts: [
      { hostPath: "/proc", mountPath: "/host/proc", readOnly: true },
      { hostPath: "/sys", mountPath: "/host/sys", readOnly: true },
      { hostPath: "/", mountPath: "/host/root", readOnly: true },
    ],
    user: NOBODY,
    healthCheck: { kind: "http", path: "/metrics", port: port.containerPort },
    healthCommand: wgetHealth(port.containerPort, "/metrics"),
    resources: resources("50m", "32Mi", "250m", "128Mi"),
    placement: "perNode",
  };
}

export const nodeExporter: ServiceDescriptor = {
  name: "nodeExporter",
  componentType: "NodeExporter",
  summary: "node-exporter: the host's CPU, memory, disks, network and filesystems",
  image: "prom/node-exporter:v1.9.1",
  port: { name: "metrics", number: 9100 },
  enabledByDefault: { dev: true, prod: true },
  scrape: { job: STACK_JOB_NAMES.nodeExporter, interval: "15s", kubernetes: { perNode: true } },
  probe: { path: "/metrics", kind: "metrics" },
  build: nodeExporterService,
  kubernetes: {
    imageUid: 65534,
    // As upstream runs it on Kubernetes: the node's own network and process views.
    clusterSpecs: (_cfg, spec) => [{ ...spec, hostNetwork: true, hostPid: true }],
  },
};
