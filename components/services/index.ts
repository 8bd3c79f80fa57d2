import type { StackConfig } from "../config";
import { renderBundle, type BundleFile } from "../render";
import type { ServiceName, ServiceSpec } from "../spec";
import { SERVICE_NAMES } from "../spec";
import { alertmanagerService } from "./alertmanager";
import { cadvisorService } from "./cadvisor";
import { dcgmExporterService } from "./dcgmExporter";
import { exporterService } from "./exporter";
import { grafanaService } from "./grafana";
import { nodeExporterService } from "./nodeExporter";
import { prometheusService } from "./prometheus";

export * from "./alertmanager";
export * from "./cadvisor";
export { DROP_ALL, NOBODY } from "./common";
export * from "./dcgmExporter";
export * from "./exporter";
export * from "./grafana";
export * from "./nodeExporter";
export * from "./prometheus";

/** One pure function per service: the stack config (and its rendered bundle) → the service's spec. */
export const SERVICE_BUILDERS: Readonly<Record<ServiceName, (cfg: StackConfig, bundle: readonly BundleFile[]) => ServiceSpec>> = {
  prometheus: prometheusService,
  alertmanager: alertmanagerService,
  grafana: grafanaService,
  nodeExporter: nodeExporterService,
  dcgmExporter: dcgmExporterService,
  cadvisor: cadvisorService,
  exporter: exporterService,
};

/**
 * Whether the stack runs a container/pod for the service: enabled, and for our exporter not
 * run on the host by systemd.
 */
export function runsService(cfg: StackConfig, service: ServiceName): boolean {
  return cfg.components[service] && !(service === "exporter" && cfg.exporter.run === "host");
}

/** Specs of every service the stack runs, in SERVICE_NAMES order. */
export function serviceSpecs(cfg: StackConfig, bundle: readonly BundleFile[] = renderBundle(cfg)): ServiceSpec[] {
  return SERVICE_NAMES.filter((s) => runsService(cfg, s)).map((s) => SERVICE_BUILDERS[s](cfg, bundle));
}
