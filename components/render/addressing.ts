import { CONTAINER_PORTS, SIMULATED_DCGM_PORT, type StackConfig } from "../config";
import type { ServiceName } from "../spec";
import { resourceName } from "./names";

/**
 * How one service reaches another (`host:port`): the only thing that differs between the
 * Docker network, a Kubernetes cluster and the loopback processes of the end-to-end suite.
 */
export interface Addressing {
  /** Where a service's main port is reached (its metrics port for exporters). */
  target(service: ServiceName): string;
  /** Where the exporter's simulated DCGM endpoint is reached. */
  simulatedDcgmTarget(): string;
}

/**
 * Services reach each other by name on their own ports: container names on the stack's Docker
 * network, ClusterIP Services named like the containers on Kubernetes.
 */
export function byNameAddressing(cfg: StackConfig): Addressing {
  return {
    target: (service) =>
      service === "exporter" && cfg.exporter.run === "host"
        ? cfg.exporter.hostTarget
        : `${resourceName(cfg, service)}:${CONTAINER_PORTS[service]}`,
    simulatedDcgmTarget: () => `${resourceName(cfg, "exporter")}:${SIMULATED_DCGM_PORT}`,
  };
}

function reachable(bind: string): string {
  return bind === "0.0.0.0" ? "127.0.0.1" : bind;
}

/** Every service as a process on the host, on its configured bind address and host port. */
/** On the stack's Docker network. */
export const dockerAddressing = byNameAddressing;

export function loopbackAddressing(cfg: StackConfig): Addressing {
  return {
    target: (service) => `${reachable(cfg.bindAddresses[service])}:${cfg.ports[service]}`,
    simulatedDcgmTarget: () => `${reachable(cfg.bindAddresses.exporter)}:${cfg.exporter.simulatedDcgmPort ?? SIMULATED_DCGM_PORT}`,
  };
}
