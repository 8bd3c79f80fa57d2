import { registerPlatform } from "..";
import { KubernetesPlatform } from "./platform";

export * from "./checks";
export * from "./config";
export * from "./discovery";
export * from "./files";
export * from "./labels";
export * from "./manifest";
export * from "./network";
export * from "./platform";
export * from "./pod";
export * from "./rbac";
export * from "./specs";
export * from "./workloads";

// Importing this module makes `platform: kubernetes` available to MonitoringStack.
registerPlatform("kubernetes", (name, ctx) => new KubernetesPlatform(name, { config: ctx.config, secrets: ctx.secrets }, { parent: ctx.parent }));
