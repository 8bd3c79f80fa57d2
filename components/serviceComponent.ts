import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";
import type { DeployedService, ServicePlatform } from "./platform";
import { renderBundle, type BundleFile } from "./render";
import { buildSpec, serviceDescriptor, type SpecTransform } from "./services";
import type { ServiceName, ServiceSpec } from "./spec";

/** Arguments every service component takes. */
export interface ServiceComponentArgs<D extends DeployedService = DeployedService> {
  /** Where the service runs: a DockerPlatform, or the Kubernetes platform. */
  readonly platform: ServicePlatform<D>;
  /**
   * A validated stack config; default: the platform's. For one service on its own,
   * `serviceConfig(["nodeExporter"], {...})` gives a config with only that service on.
   */
  readonly config?: StackConfig;
  /** The rendered config bundle; default: renderBundle(config, platform.bundleOptions). */
  readonly bundle?: readonly BundleFile[];
  /** Changes the spec before it is deployed: the patch point for what the config does not cover. */
  readonly transform?: SpecTransform;
}

/**
 * One service of the stack, any registered one: computes its spec from the config with its
 * descriptor's builder (pure), applies the transform, then has the platform create the
 * resources as children of this component (`deployed` holds them).
 */
export class ServiceComponent<D extends DeployedService = DeployedService> extends pulumi.ComponentResource {
  readonly service: ServiceName;
  readonly spec: ServiceSpec;
  /** What the platform created: the container, image and volumes (Docker) or every object (Kubernetes). */
  readonly deployed: D;
  /** Where users reach the service's main port. */
  readonly url: pulumi.Output<string>;

  constructor(service: ServiceName, name: string, args: ServiceComponentArgs<D>, opts?: pulumi.ComponentResourceOptions) {
    const descriptor = serviceDescriptor(service);
    super(`gpu-monitoring:services:${descriptor.componentType}`, name, {}, opts);
    const config = args.config ?? args.platform.config;
    this.service = service;
    this.spec = buildSpec(descriptor, config, args.bundle ?? renderBundle(config, args.platform.bundleOptions), args.transform);
    this.deployed = args.platform.deploy(this.spec, this);
    this.url = this.deployed.url;
    this.registerOutputs({ url: this.url });
  }
}

/** A component class for one registered service, as `new Prometheus(name, args)` is for Prometheus. */
export type ServiceComponentClass = new <D extends DeployedService = DeployedService>(
  name: string,
  args: ServiceComponentArgs<D>,
  opts?: pulumi.ComponentResourceOptions,
) => ServiceComponent<D>;

/** The component class of a registered service. */
export function serviceComponentClass(service: ServiceName): ServiceComponentClass {
  return class<D extends DeployedService = DeployedService> extends ServiceComponent<D> {
    constructor(name: string, args: ServiceComponentArgs<D>, opts?: pulumi.ComponentResourceOptions) {
      super(service, name, args, opts);
    }
  };
}

/** The built-in services' classes, by the names users import. */
export const Prometheus = serviceComponentClass("prometheus");
export const Alertmanager = serviceComponentClass("alertmanager");
export const Grafana = serviceComponentClass("grafana");
export const NodeExporter = serviceComponentClass("nodeExporter");
export const DcgmExporter = serviceComponentClass("dcgmExporter");
export const Cadvisor = serviceComponentClass("cadvisor");
export const Ds01Exporter = serviceComponentClass("exporter");

export type Prometheus = ServiceComponent;
export type Alertmanager = ServiceComponent;
export type Grafana = ServiceComponent;
export type NodeExporter = ServiceComponent;
export type DcgmExporter = ServiceComponent;
export type Cadvisor = ServiceComponent;
export type Ds01Exporter = ServiceComponent;

export type PrometheusArgs = ServiceComponentArgs;
export type AlertmanagerArgs = ServiceComponentArgs;
export type GrafanaArgs = ServiceComponentArgs;
export type NodeExporterArgs = ServiceComponentArgs;
export type DcgmExporterArgs = ServiceComponentArgs;
export type CadvisorArgs = ServiceComponentArgs;
export type Ds01ExporterArgs = ServiceComponentArgs;
