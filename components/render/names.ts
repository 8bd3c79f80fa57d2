import type { StackConfig } from "../config";
import type { ServiceName } from "../spec";

/** kebab-case of a service name: nodeExporter → node-exporter. */
export function kebab(service: ServiceName): string {
  return service.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Container / object name of a service: `<namePrefix>-<service>`, e.g. gpu-monitoring-node-exporter. */
export function resourceName(cfg: Pick<StackConfig, "namePrefix">, service: ServiceName): string {
  return `${cfg.namePrefix}-${kebab(service)}`;
}
