import { join } from "node:path";
import { readStackFile, validateStackConfig, type StackConfig } from "../../components/config";

/** The loopback profile: a stack file in this folder, completed at run time with free ports. */
export const LOOPBACK_STACK_FILE = join(__dirname, "Pulumi.e2e.yaml");

/** This run's DS01 state directory and events log (in its temp dir), read by the exporter for real. */
export interface LoopbackPaths {
  readonly stateDir: string;
  readonly eventsFile: string;
}

/** Ports picked free for one run. */
export interface LoopbackPorts {
  readonly prometheus: number;
  readonly alertmanager: number;
  readonly nodeExporter: number;
  readonly exporter: number;
  readonly simulatedDcgm: number;
  readonly webhook: number;
}

type Plain = Record<string, unknown>;

function asObject(value: unknown): Plain {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Plain) : {};
}

/** Every webhook receiver's URL, pointed at the test's receiver on `port` with its path kept. */
function pointWebhooksAt(alerting: Plain, port: number): Plain {
  const receivers = Array.isArray(alerting["receivers"]) ? (alerting["receivers"] as unknown[]) : [];
  return {
    ...alerting,
    receivers: receivers.map((r) => {
      const receiver = asObject(r);
      if (receiver["type"] !== "webhook" || typeof receiver["url"] !== "string") return r;
      const url = new URL(receiver["url"]);
      return { ...receiver, url: `http://127.0.0.1:${port}${url.pathname}` };
    }),
  };
}

/**
 * The stack config the suite deploys: test/e2e/Pulumi.e2e.yaml with this run's ports and paths, validated by
 * the same code as every stack (components/config). Nothing else is changed by hand.
 */
export function loadLoopbackConfig(ports: LoopbackPorts, paths: LoopbackPaths): StackConfig {
  const raw = readStackFile(LOOPBACK_STACK_FILE);
  const plain: Plain = {
    ...raw.plain,
    ports: {
      ...asObject(raw.plain["ports"]),
      prometheus: ports.prometheus,
      alertmanager: ports.alertmanager,
      nodeExporter: ports.nodeExporter,
      exporter: ports.exporter,
    },
    exporter: {
      ...asObject(raw.plain["exporter"]),
      simulatedDcgmPort: ports.simulatedDcgm,
      stateDir: paths.stateDir,
      eventsFile: paths.eventsFile,
    },
    alerting: pointWebhooksAt(asObject(raw.plain["alerting"]), ports.webhook),
  };
  return validateStackConfig({ plain, secretKeys: raw.secretKeys }, `${LOOPBACK_STACK_FILE} with this run's ports`);
}
