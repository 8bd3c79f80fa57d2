import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";
import type { BundleOptions } from "./render";
import type { ServiceSpec } from "./spec";

/** What a platform hands back for one deployed service. */
export interface DeployedService {
  /** Where a user reaches the service's main port (e.g. http://127.0.0.1:3000), if anywhere. */
  readonly url: pulumi.Output<string>;
}

/**
 * A place services run: Docker on one host, or a Kubernetes cluster. The service components
 * compute a ServiceSpec and ask the platform to deploy it as children of themselves.
 */
export interface ServicePlatform<D extends DeployedService = DeployedService> {
  readonly kind: "docker" | "kubernetes";
  /** The stack config the platform was made for (its addresses, names, data settings). */
  readonly config: StackConfig;
  /**
   * How the platform wants the config bundle rendered (addressing, its own scrape jobs, extra
   * prometheus.yml sections). Undefined: the Docker defaults.
   */
  readonly bundleOptions?: BundleOptions;
  deploy(spec: ServiceSpec, parent: pulumi.Resource): D;
}

/**
 * Options for resources that hold data (Docker volumes, PersistentVolumeClaims, the Namespace
 * that owns claims): kept on `pulumi destroy` and on replacement unless the stack says otherwise,
 * and optionally protected so Pulumi refuses to delete them at all.
 */
export function dataResourceOptions(data: { readonly retainOnDelete: boolean; readonly protect: boolean }): Pick<pulumi.CustomResourceOptions, "retainOnDelete" | "protect"> {
  return { retainOnDelete: data.retainOnDelete, protect: data.protect };
}
