import type { RawStackConfig } from "../../components/config";

/** Ports picked free for one local run; Grafana's only where a Grafana server runs. */
export interface LoopbackPorts {
  readonly prometheus: number;
  readonly alertmanager: number;
  readonly nodeExporter: number;
  readonly exporter: number;
  readonly simulatedDcgm: number;
  readonly webhook: number;
  readonly grafana?: number;
}

/** The run's DS01 state directory and events log, read by the exporter for real. */
export interface LoopbackPaths {
  readonly stateDir: string;
  readonly eventsFile: string;
}

type Plain = Record<string, unknown>;

export function asObject(value: unknown): Plain {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Plain) : {};
}

/** Every webhook receiver's URL, pointed at a local receiver on `port` with its path kept. */
export function pointWebhooksAt(alerting: Plain, port: number): Plain {
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
 * A stack config made to run as processes on this machine: every service on 127.0.0.1 at the
 * ports picked for this run, the exporter reading this run's DS01 files, and every webhook
 * receiver pointed at the local receiver. Everything else is the stack file's own; the result is
 * validated by the same code as every stack (components/config).
 */
export function loopbackRawConfig(raw: RawStackConfig, ports: LoopbackPorts, paths: LoopbackPaths): RawStackConfig {
  const plain: Plain = {
    ...raw.plain,
    bindAddress: "127.0.0.1",
    ports: {
      ...asObject(raw.plain["ports"]),
      prometheus: ports.prometheus,
      alertmanager: ports.alertmanager,
      nodeExporter: ports.nodeExporter,
      exporter: ports.exporter,
      ...(ports.grafana !== undefined ? { grafana: ports.grafana } : {}),
    },
    exporter: {
      ...asObject(raw.plain["exporter"]),
      simulatedDcgmPort: ports.simulatedDcgm,
      stateDir: paths.stateDir,
      eventsFile: paths.eventsFile,
    },
    alerting: pointWebhooksAt(asObject(raw.plain["alerting"]), ports.webhook),
  };
  delete plain["bindAddresses"];
  return { plain, secretKeys: raw.secretKeys };
}
