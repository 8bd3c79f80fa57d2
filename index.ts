import * as pulumi from "@pulumi/pulumi";
import { ConfigError, MonitoringStack, configWarnings, loadStackConfig } from "./components";

/**
 * The Pulumi program: validate the stack config (stacks/Pulumi.<stack>.yaml) before any resource
 * exists, deploy the stack, export the URLs users open. No secret is ever exported.
 */
function load(): ReturnType<typeof loadStackConfig> {
  try {
    return loadStackConfig();
  } catch (err) {
    // A ConfigError lists every problem with its key; show it as it is, without a stack trace.
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

const { config, secrets } = load();
// The engine waits for log calls still in flight before the program ends; nothing here depends on them.
for (const warning of configWarnings(config)) void pulumi.log.warn(warning);
const stack = new MonitoringStack("gpu-monitoring", { config, secrets });

export const grafanaUrl = stack.grafanaUrl;
export const prometheusUrl = stack.prometheusUrl;
export const alertmanagerUrl = stack.alertmanagerUrl;
export const platform = config.platform;
