import type { StackConfig } from "../config";
import type { ServiceSpec } from "../spec";
import { baseSpec, mainPort, resources, wgetHealth } from "./common";

/**
 * cAdvisor reads every container's cgroups and the Docker engine's files, so it needs more than
 * the others: it runs as root with the read-only host mounts its documentation lists and
 * /dev/kmsg (OOM events). Upstream's example also runs it `--privileged`; we do not, and keep only
 * DAC_READ_SEARCH (to traverse container directories owned by other users) and SYS_PTRACE
 * (per-process stats of other containers). Everything else is dropped.
 */
export function cadvisorService(cfg: StackConfig): ServiceSpec {
  const port = mainPort(cfg, "cadvisor", "http");
  return {
    ...baseSpec(cfg, "cadvisor"),
    args: [
      `--port=${port.containerPort}`,
      "--docker_only=true",
      "--housekeeping_interval=15s",
      // Metrics nobody reads cost series; DS01 drops the same families at scrape time too.
      "--disable_metrics=percpu,sched,tcp,udp,disk,diskIO,hugetlb,referenced_memory,cpu_topology,resctrl,advtcp,process",
      // Container labels as series labels multiply series; dashboards join on `name` instead.
      "--store_container_labels=false",
    ],
    ports: [port],
    hostMounts: [
      { hostPath: "/", mountPath: "/rootfs", readOnly: true },
      { hostPath: "/var/run", mountPath: "/var/run", readOnly: true },
      { hostPath: "/sys", mountPath: "/sys", readOnly: true },
      { hostPath: "/var/lib/docker", mountPath: "/var/lib/docker", readOnly: true },
      { hostPath: "/dev/disk", mountPath: "/dev/disk", readOnly: true },
    ],
    devices: ["/dev/kmsg"],
    capabilities: { add: ["DAC_READ_SEARCH", "SYS_PTRACE"], drop: ["ALL"] },
    healthCheck: { kind: "http", path: "/healthz", port: port.containerPort },
    healthCommand: wgetHealth(port.containerPort, "/healthz"),
    resources: resources("100m", "128Mi", "300m", "256Mi"),
    placement: "perNode",
  };
}
