import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";
import type { ServicePlatform } from "./platform";
import { renderBundle, type BundleFile } from "./render";
import {
  alertmanagerService,
  cadvisorService,
  dcgmExporterService,
  exporterService,
  grafanaService,
  nodeExporterService,
  prometheusService,
} from "./services";
import type { ServiceName, ServiceSpec } from "./spec";

/** Arguments every service component takes. */
export interface ServiceComponentArgs {
  /** A validated stack config (loadStackConfig, loadStackConfigFile or validateStackConfig). */
  readonly config: StackConfig;
  /** Where the service runs: a DockerPlatform, or the Kubernetes platform. */
  readonly platform: ServicePlatform;
  /** The rendered config bundle; default: renderBundle(config, platform.bundleOptions). */
  readonly bundle?: readonly BundleFile[];
}

/**
 * One service of the stack: computes its spec from the config (pure), then has the platform
 * create the resources, as children of this component.
 */
export abstract class ServiceComponent extends pulumi.ComponentResource {
  readonly spec: ServiceSpec;
  /** Where users reach the service's main port. */
  readonly url: pulumi.Output<string>;

  protected constructor(
    type: string,
    service: ServiceName,
    build: (cfg: StackConfig, bundle: readonly BundleFile[]) => ServiceSpec,
    name: string,
    args: ServiceComponentArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(type, name, {}, opts);
    this.spec = build(args.config, args.bundle ?? renderBundle(args.config, args.platform.bundleOptions));
    if (this.spec.name !== service) throw new Error(`spec for ${this.spec.name} given to the ${service} component`);
    this.url = args.platform.deploy(this.spec, this).url;
    this.registerOutputs({ url: this.url });
  }
}

export type PrometheusArgs = ServiceComponentArgs;
export class Prometheus extends ServiceComponent {
  constructor(name: string, args: PrometheusArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-monitoring:services:Prometheus", "prometheus", prometheusService, name, args, opts);
  }
}

export type AlertmanagerArgs = ServiceComponentArgs;
export class Alertmanager extends ServiceComponent {
  constructor(name: string, args: AlertmanagerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-monitoring:services:Alertmanager", "alertmanager", alertmanagerService, name, args, opts);
  }
}

export type GrafanaArgs = ServiceComponentArgs;
export class Grafana extends ServiceComponent {
  constructor(name: string, args: GrafanaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-monitoring:services:Grafana", "grafana", grafanaService, name, args, opts);
  }
}

export type NodeExporterArgs = ServiceComponentArgs;
export class NodeExporter extends ServiceComponent {
  constructor(name: string, args: NodeExporterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-monitoring:services:NodeExporter", "nodeExporter", (cfg) => nodeExporterService(cfg), name, args, opts);
  }
}

export type DcgmExporterArgs = ServiceComponentArgs;
export class DcgmExporter extends ServiceComponent {
  constructor(name: string, args: DcgmExporterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-monitoring:services:DcgmExporter", "dcgmExporter", (cfg) => dcgmExporterService(cfg), name, args, opts);
  }
}

export type CadvisorArgs = ServiceComponentArgs;
export class Cadvisor extends ServiceComponent {
  constructor(name: string, args: CadvisorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-monitoring:services:Cadvisor", "cadvisor", (cfg) => cadvisorService(cfg), name, args, opts);
  }
}

export type Ds01ExporterArgs = ServiceComponentArgs;
export class Ds01Exporter extends ServiceComponent {
  constructor(name: string, args: Ds01ExporterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-monitoring:services:Ds01Exporter", "exporter", (cfg) => exporterService(cfg), name, args, opts);
  }
}
