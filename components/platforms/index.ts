import type * as pulumi from "@pulumi/pulumi";
import type { SecretValues, StackConfig } from "../config";
import type { ServicePlatform } from "../platform";
import { DockerPlatform } from "./docker";

export interface PlatformContext {
  readonly config: StackConfig;
  readonly secrets: SecretValues;
  /** The MonitoringStack the platform's own resources belong to. */
  readonly parent: pulumi.Resource;
}

/** Creates a platform for a stack; one per platform kind. */
export type PlatformFactory = (name: string, ctx: PlatformContext) => ServicePlatform;

const factories = new Map<StackConfig["platform"], PlatformFactory>([
  ["docker", (name, ctx) => new DockerPlatform(name, { config: ctx.config, secrets: ctx.secrets }, { parent: ctx.parent })],
]);

/**
 * Makes a platform kind available to MonitoringStack. The Kubernetes platform registers itself
 * here (`registerPlatform("kubernetes", ...)`) from the module that defines it.
 */
export function registerPlatform(kind: StackConfig["platform"], factory: PlatformFactory): void {
  factories.set(kind, factory);
}

export function createPlatform(name: string, ctx: PlatformContext): ServicePlatform {
  const factory = factories.get(ctx.config.platform);
  if (!factory) throw new Error(`platform ${ctx.config.platform} is not available (no platform registered for it)`);
  return factory(name, ctx);
}
