import "./builtin";
import type { StackConfig } from "../config/resolve";
import { renderBundle, type BundleFile } from "../render/bundle";
import type { ServiceName, ServiceSpec } from "../spec";
import { alertmanagerSpec } from "./alertmanager";
import type { ServiceDescriptor } from "./descriptor";
import { grafanaSpec } from "./grafana";
import { prometheusSpec } from "./prometheus";
import { findServiceDescriptor, liveServiceTable, perService, registeredServices } from "./registry";

export * from "./alertmanager";
export * from "./cadvisor";
export { DROP_ALL, NOBODY } from "./common";
export * from "./dcgmExporter";
export type * from "./descriptor";
export * from "./exporter";
export * from "./grafana";
export * from "./nodeExporter";
export * from "./prometheus";
export { findServiceDescriptor, registerService, registeredServices, serviceDescriptor } from "./registry";

/** A spec builder that renders the stack's bundle itself when it is not given one. */
function withDefaultBundle(build: (cfg: StackConfig, bundle: readonly BundleFile[]) => ServiceSpec) {
  return (cfg: StackConfig, bundle: readonly BundleFile[] = renderBundle(cfg)): ServiceSpec => build(cfg, bundle);
}

/** Prometheus' spec: config and rules from the bundle, TSDB on a persistent volume, retention from config. */
export const prometheusService = withDefaultBundle(prometheusSpec);
/** Alertmanager's spec: routing from the bundle, notification secrets as files, silences on a volume. */
export const alertmanagerService = withDefaultBundle(alertmanagerSpec);
/** Grafana's spec: provisioning from the bundle, the admin password only as a file. */
export const grafanaService = withDefaultBundle(grafanaSpec);

/** A change to a service's spec before it is deployed: the patch point for what the config does not cover. */
export type SpecTransform = (spec: ServiceSpec, cfg: StackConfig) => ServiceSpec;

/** Spec transforms by service. */
export type SpecTransforms = Readonly<Partial<Record<ServiceName, SpecTransform>>>;

/** Each registered service's spec builder: the stack config (and its rendered bundle) → its spec. */
export function serviceBuilders(): Readonly<Record<ServiceName, ServiceDescriptor["build"]>> {
  return perService((d) => d.build);
}

/** @deprecated use serviceBuilders(); reads the registered services when read. */
export const SERVICE_BUILDERS = liveServiceTable(serviceBuilders);

/**
 * Whether the stack runs a container/pod for the service: registered, enabled, and deployed by
 * the stack (our exporter run on the host by systemd is not).
 */
export function runsService(cfg: StackConfig, service: ServiceName): boolean {
  const d = findServiceDescriptor(service);
  return d !== undefined && cfg.components[service] === true && (d.deployed?.(cfg) ?? true);
}

/** A service's spec: its builder's, then the transform if one is given. */
export function buildSpec(d: ServiceDescriptor, cfg: StackConfig, bundle: readonly BundleFile[], transform?: SpecTransform): ServiceSpec {
  const spec = d.build(cfg, bundle);
  const out = transform ? transform(spec, cfg) : spec;
  if (out.name !== d.name) throw new Error(`the ${d.name} spec came back named ${out.name}; a transform must keep the name`);
  return out;
}

/** Specs of every service the stack runs, in registration order, each through its transform. */
export function serviceSpecs(cfg: StackConfig, bundle: readonly BundleFile[] = renderBundle(cfg), transforms: SpecTransforms = {}): ServiceSpec[] {
  return registeredServices()
    .filter((d) => runsService(cfg, d.name))
    .map((d) => buildSpec(d, cfg, bundle, transforms[d.name]));
}
