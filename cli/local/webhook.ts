import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One alert inside Alertmanager's webhook payload (version 4). */
export interface WebhookAlert {
  readonly status: "firing" | "resolved";
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
}

export interface WebhookPayload {
  readonly version: string;
  readonly receiver: string;
  readonly status: "firing" | "resolved";
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly commonLabels: Readonly<Record<string, string>>;
  readonly alerts: readonly WebhookAlert[];
}

export interface Delivery {
  readonly receivedAt: number;
  readonly path: string;
  readonly payload: WebhookPayload;
}

/** One alert as delivered, flattened with the receiver and path it came on. */
export interface DeliveredAlert extends WebhookAlert {
  readonly receiver: string;
  readonly path: string;
  readonly receivedAt: number;
}

const MAX_BODY_BYTES = 1 << 20;

/**
 * An Alertmanager webhook endpoint on 127.0.0.1: records every notification so a test can assert
 * which alert arrived, with which labels, on which receiver; `onDelivery` lets the demo print each.
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private server: Server | undefined;

  constructor(private readonly onDelivery?: (delivery: Delivery) => void) {}

  async start(port = 0): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      });
      req.on("end", () => {
        try {
          const payload = JSON.parse(Buffer.concat(chunks).toString("utf8")) as WebhookPayload;
          const delivery = { receivedAt: Date.now(), path: req.url ?? "/", payload };
          this.deliveries.push(delivery);
          res.writeHead(200).end();
          this.onDelivery?.(delivery);
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  alerts(): DeliveredAlert[] {
    return this.deliveries.flatMap((d) =>
      d.payload.alerts.map((a) => ({ ...a, receiver: d.payload.receiver, path: d.path, receivedAt: d.receivedAt })),
    );
  }

  /** Short text of what arrived so far, for failure messages. */
  summary(): string {
    const seen = this.alerts().map((a) => `${a.labels["alertname"] ?? "?"}[${a.status}]@${a.receiver}`);
    return seen.length ? [...new Set(seen)].join(", ") : "nothing delivered yet";
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
