import type { StackConfig } from "../config/resolve";
import { findServiceDescriptor } from "../services/registry";
import type { ServiceName } from "../spec";
import { resourceName } from "./names";

/**
 * How one service reaches another (`host:port`): the only thing that differs between the
 * Docker network, a Kubernetes cluster and the loopback processes of the end-to-end suite.
 */
export interface Addressing {
  /** Where a service's main port is reached (its metrics port for exporters). */
  target(service: ServiceName): string;
  /** Where another port of a service is reached: its number in the container, and as published on the host. */
  portTarget(service: ServiceName, port: { readonly containerPort: number; readonly hostPort: number }): string;
}

/** The main port's number inside the container (the descriptor's). */
function containerPortOf(service: ServiceName): number {
  const d = findServiceDescriptor(service);
  if (!d) throw new Error(`no service named ${service} is registered`);
  return d.port.number;
}

/** Where a service the stack enables but does not deploy (run on the host) is reached, if so. */
function externalTarget(cfg: StackConfig, service: ServiceName): string | undefined {
  const d = findServiceDescriptor(service);
  return d?.externalTarget && !(d.deployed?.(cfg) ?? true) ? d.externalTarget(cfg) : undefined;
}

/**
 * Services reach each other by name on their own ports: container names on the stack's Docker
 * network, ClusterIP Services named like the containers on Kubernetes.
 */
export function byNameAddressing(cfg: StackConfig): Addressing {
  return {
    target: (service) => externalTarget(cfg, service) ?? `${resourceName(cfg, service)}:${containerPortOf(service)}`,
    portTarget: (service, port) => `${resourceName(cfg, service)}:${port.containerPort}`,
  };
}

function reachable(bind: string): string {
  return bind === "0.0.0.0" ? "127.0.0.1" : bind;
}

/** On the stack's Docker network. */
export const dockerAddressing = byNameAddressing;

/** Every service as a process on the host, on its configured bind address and host port. */
export function loopbackAddressing(cfg: StackConfig): Addressing {
  return {
    target: (service) => `${reachable(cfg.bindAddresses[service])}:${cfg.ports[service]}`,
    portTarget: (service, port) => `${reachable(cfg.bindAddresses[service])}:${port.hostPort}`,
  };
}
