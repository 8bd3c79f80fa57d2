import type { StackConfig } from "../config";
import type { ServiceSpec } from "../spec";
import { baseSpec, mainPort, resources, wgetHealth } from "./common";

/** The container engine's API socket: cAdvisor asks it for container names (`--docker_only`). */
export const CADVISOR_RUNTIME_SOCKET = "/var/run/docker.sock";

/**
 * cAdvisor reads every container's cgroups and the Docker engine's files, so it needs more than
 * the others: it runs as root with read-only host mounts and /dev/kmsg (OOM events). Upstream's
 * example runs it `--privileged` with all of /var/run; we do neither. Of /var/run only the Docker
 * socket is mounted (not containerd's, dbus' or systemd's), and of the capabilities only
 * DAC_READ_SEARCH is kept (to traverse container directories owned by other users); SYS_PTRACE
 * served per-process stats, which `--disable_metrics=process` turns off. The socket still grants
 * the whole Docker API (a read-only mount does not limit API calls): docs/stack.md states that
 * residual risk.
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
      { hostPath: CADVISOR_RUNTIME_SOCKET, mountPath: CADVISOR_RUNTIME_SOCKET, readOnly: true },
      { hostPath: "/sys", mountPath: "/sys", readOnly: true },
      { hostPath: "/var/lib/docker", mountPath: "/var/lib/docker", readOnly: true },
      { hostPath: "/dev/disk", mountPath: "/dev/disk", readOnly: true },
    ],
    devices: ["/dev/kmsg"],
    capabilities: { add: ["DAC_READ_SEARCH"], drop: ["ALL"] },
    healthCheck: { kind: "http", path: "/healthz", port: port.containerPort },
    healthCommand: wgetHealth(port.containerPort, "/healthz"),
    resources: resources("100m", "128Mi", "300m", "256Mi"),
    placement: "perNode",
  };
}
