import type { AlertmanagerApi } from "../../../cli/local/alertmanager-api";
import type { PrometheusApi } from "../../../cli/local/prometheus-api";
import { waitFor } from "../../../cli/local/wait";
import type { DeliveredAlert, WebhookReceiver } from "../../../cli/local/webhook";

/** An alert the suite drives: its name and the labels that identify the driven instance. */
export interface ExpectedAlert {
  readonly alertname: string;
  readonly labels: Readonly<Record<string, string>>;
}

export function describeAlert(e: ExpectedAlert): string {
  const labels = Object.entries(e.labels).map(([k, v]) => `${k}="${v}"`);
  return `${e.alertname}{${labels.join(",")}}`;
}

function matches(labels: Readonly<Record<string, string>>, e: ExpectedAlert): boolean {
  return labels["alertname"] === e.alertname && Object.entries(e.labels).every(([k, v]) => labels[k] === v);
}

/** Where the alert is on its way, for a failure message: Prometheus' state and Alertmanager's. */
async function whereIsIt(e: ExpectedAlert, prom: PrometheusApi, am: AlertmanagerApi): Promise<string> {
  const parts: string[] = [];
  try {
    const inProm = (await prom.alerts()).filter((a) => matches(a.labels, e));
    parts.push(`Prometheus: ${inProm.length ? inProm.map((a) => a.state).join(", ") : "not pending or firing"}`);
  } catch (err: unknown) {
    parts.push(`Prometheus: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const inAm = (await am.alerts()).filter((a) => matches(a.labels, e));
    parts.push(
      `Alertmanager: ${inAm.length ? inAm.map((a) => `${a.status.state} -> ${a.receivers.map((r) => r.name).join("/")}`).join(", ") : "not received"}`,
    );
  } catch (err: unknown) {
    parts.push(`Alertmanager: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parts.join("; ");
}

/**
 * Waits for the webhook to receive `e` with `status` after `since` (ms epoch). On timeout the
 * error names the alert, where it got stuck (Prometheus / Alertmanager) and what did arrive.
 */
export async function waitForDelivery(
  webhook: WebhookReceiver,
  e: ExpectedAlert,
  status: "firing" | "resolved",
  since: number,
  apis: { prom: PrometheusApi; am: AlertmanagerApi },
  timeoutMs: number,
): Promise<DeliveredAlert> {
  try {
    return await waitFor(
      `${describeAlert(e)} delivered as ${status}`,
      () => webhook.alerts().find((a) => a.receivedAt >= since && a.status === status && matches(a.labels, e)),
      { timeoutMs, intervalMs: 200 },
    );
  } catch (err: unknown) {
    const where = await whereIsIt(e, apis.prom, apis.am);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n  ${where}\n  delivered so far: ${webhook.summary()}`);
  }
}
