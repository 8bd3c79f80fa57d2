import { join } from "node:path";
import { readStackFile, validateStackConfig, type StackConfig } from "../../components/config";
import { loopbackRawConfig, type LoopbackPaths, type LoopbackPorts } from "../../cli/local/loopback";

/** The loopback profile: a stack file in this folder, completed at run time with free ports. */
export const LOOPBACK_STACK_FILE = join(__dirname, "Pulumi.e2e.yaml");

/**
 * The stack config the suite deploys: test/e2e/Pulumi.e2e.yaml with this run's ports and paths, validated by
 * the same code as every stack (components/config). Nothing else is changed by hand.
 */
export function loadLoopbackConfig(ports: LoopbackPorts, paths: LoopbackPaths): StackConfig {
  return validateStackConfig(loopbackRawConfig(readStackFile(LOOPBACK_STACK_FILE), ports, paths), `${LOOPBACK_STACK_FILE} with this run's ports`);
}
