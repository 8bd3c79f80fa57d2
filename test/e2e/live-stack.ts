import type { SimulationOverrides } from "../../exporter/simulation/overrides";
import { LocalStack } from "../../cli/local/stack";
import { loadLoopbackConfig } from "./loopback";

/** The suite's stack: the loopback profile (Pulumi.e2e.yaml) run by the same code as `gpu-monitoring demo`. */
export type LiveStack = LocalStack;

export function startLiveStack(initialOverrides: SimulationOverrides): Promise<LiveStack> {
  return LocalStack.start({ config: loadLoopbackConfig, initialOverrides });
}
