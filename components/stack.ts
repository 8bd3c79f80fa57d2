import * as pulumi from "@pulumi/pulumi";
import type { SecretValues, StackConfig } from "./config";
import type { ServicePlatform } from "./platform";
import { createPlatform } from "./platforms";
import { renderBundle, type BundleFile } from "./render";
import { ServiceComponent } from "./serviceComponent";
import { registeredServices, runsService, type SpecTransforms } from "./services";
import type { ServiceName } from "./spec";

export interface MonitoringStackArgs {
  /** A validated stack config. */
  readonly config: StackConfig;
  /** Secret values by key (loadStackConfig().secrets); only the keys the config names are used. */
  readonly secrets: SecretValues;
  /** Where to deploy; default: the platform registered for `config.platform`. */
  readonly platform?: ServicePlatform;
  /** Changes to services' specs before they are deployed, by service. */
  readonly transforms?: SpecTransforms;
}

/** The whole monitoring stack: one component per enabled registered service on one platform. */
export class MonitoringStack extends pulumi.ComponentResource {
  readonly platform: ServicePlatform;
  readonly bundle: readonly BundleFile[];
  readonly services: Readonly<Partial<Record<ServiceName, ServiceComponent>>>;
  /** URLs users open; undefined where the service is off. No secrets. */
  readonly grafanaUrl: pulumi.Output<string | undefined>;
  readonly prometheusUrl: pulumi.Output<string | undefined>;
  readonly alertmanagerUrl: pulumi.Output<string | undefined>;

  constructor(name: string, args: MonitoringStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-monitoring:index:MonitoringStack", name, {}, opts);
    const cfg = args.config;
    this.platform = args.platform ?? createPlatform(`${name}-${cfg.platform}`, { config: cfg, secrets: args.secrets, parent: this });
    this.bundle = renderBundle(cfg, this.platform.bundleOptions);
    const services: Partial<Record<ServiceName, ServiceComponent>> = {};
    for (const { name: service } of registeredServices()) {
      if (!runsService(cfg, service)) continue;
      const transform = args.transforms?.[service];
      services[service] = new ServiceComponent(
        service,
        `${name}-${service}`,
        { config: cfg, platform: this.platform, bundle: this.bundle, ...(transform ? { transform } : {}) },
        { parent: this },
      );
    }
    this.services = services;
    const urlOf = (s: ServiceName): pulumi.Output<string | undefined> => services[s]?.url ?? pulumi.output(undefined);
    this.grafanaUrl = urlOf("grafana");
    this.prometheusUrl = urlOf("prometheus");
    this.alertmanagerUrl = urlOf("alertmanager");
    this.registerOutputs({ grafanaUrl: this.grafanaUrl, prometheusUrl: this.prometheusUrl, alertmanagerUrl: this.alertmanagerUrl });
  }
}
