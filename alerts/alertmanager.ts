import { stringify } from "yaml";
import { SEVERITIES, type AlertingConfig, type Receiver } from "./config";
import { DEFAULT_JOB_NAMES } from "./context";
import { WATCHDOG_ALERT } from "./rules/stack";

/** Where Alertmanager finds the secret files; the platform mounts each SecretFile here. */
export const ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets";

/** A file Alertmanager reads a secret from; its content is the Pulumi secret named `secretKey`. */
export interface AlertmanagerSecretFile {
  readonly path: string;
  readonly secretKey: string;
}

export interface RenderedAlertmanagerConfig {
  readonly yaml: string;
  readonly secretFiles: AlertmanagerSecretFile[];
}

/** Receiver name of the discard route for the Watchdog when no dead man's switch is configured. */
export const WATCHDOG_DISCARD_RECEIVER = "Watchdog-discard";

/** Labels that say two alerts are about the same thing, for "a more severe one suppresses the others". */
const SAME_TARGET = ["family", "instance", "job", "gpu"];

type Rendered = Record<string, unknown>;

function renderReceiver(r: Receiver, secrets: AlertmanagerSecretFile[]): Rendered {
  const secretFile = (suffix: string, secretKey: string) => {
    const path = `${ALERTMANAGER_SECRETS_DIR}/${r.name}-${suffix}`;
    secrets.push({ path, secretKey });
    return path;
  };
  switch (r.type) {
    case "none":
      return { name: r.name };
    case "email":
      return {
        name: r.name,
        email_configs: [
          {
            to: r.to.join(", "),
            from: r.from,
            smarthost: r.smarthost,
            ...(r.authUsername ? { auth_username: r.authUsername } : {}),
            ...(r.authPasswordSecret ? { auth_password_file: secretFile("smtp-password", r.authPasswordSecret) } : {}),
            require_tls: r.requireTls,
            tls_config: {
              ...(r.tlsServerName ? { server_name: r.tlsServerName } : {}),
              insecure_skip_verify: r.tlsInsecureSkipVerify,
              min_version: "TLS12",
            },
            send_resolved: r.sendResolved,
          },
        ],
      };
    case "slack":
      return {
        name: r.name,
        slack_configs: [
          {
            api_url_file: secretFile("slack-webhook-url", r.webhookUrlSecret),
            ...(r.channel ? { channel: r.channel } : {}),
            send_resolved: r.sendResolved,
          },
        ],
      };
    case "webhook":
      return {
        name: r.name,
        webhook_configs: [
          {
            url: r.url,
            send_resolved: r.sendResolved,
            max_alerts: r.maxAlerts,
            ...(r.bearerTokenSecret
              ? { http_config: { authorization: { type: "Bearer", credentials_file: secretFile("bearer-token", r.bearerTokenSecret) } } }
              : {}),
          },
        ],
      };
  }
}

/**
 * alertmanager.yml from the alerting config: routes by severity with their own waits and repeat
 * intervals, the Watchdog to its dead man's switch, inhibition, and receivers whose secrets are
 * only file paths (`*_file` fields Alertmanager 0.25 and later read). The secret values never
 * enter the YAML; `secretFiles` says which Pulumi secret goes into which file.
 *
 * `nodeExporterJob` names the job whose target being down means its host is down.
 */
export function renderAlertmanagerConfig(alerting: AlertingConfig, opts: { nodeExporterJob?: string } = {}): RenderedAlertmanagerConfig {
  const routing = alerting.routing;
  const secretFiles: AlertmanagerSecretFile[] = [];
  const first = alerting.receivers[0];
  if (!first) throw new Error("alerting.receivers: at least one receiver is required");
  const defaultReceiver = routing.defaultReceiver ?? first.name;
  const receivers = alerting.receivers.map((r) => renderReceiver(r, secretFiles));
  const watchdogReceiver = routing.watchdog.receiver ?? WATCHDOG_DISCARD_RECEIVER;
  if (!routing.watchdog.receiver) receivers.push({ name: WATCHDOG_DISCARD_RECEIVER });
  const nodeJob = opts.nodeExporterJob ?? DEFAULT_JOB_NAMES.nodeExporter;

  const doc = {
    global: { resolve_timeout: routing.resolveTimeout },
    route: {
      receiver: defaultReceiver,
      group_by: routing.groupBy,
      group_wait: routing.groupWait,
      group_interval: routing.groupInterval,
      repeat_interval: routing.repeatInterval,
      routes: [
        {
          receiver: watchdogReceiver,
          matchers: [`alertname="${WATCHDOG_ALERT}"`],
          group_wait: "0s",
          group_interval: routing.watchdog.repeatInterval,
          repeat_interval: routing.watchdog.repeatInterval,
        },
        ...SEVERITIES.map((severity) => ({
          receiver: routing[severity].receiver ?? defaultReceiver,
          matchers: [`severity="${severity}"`],
          group_wait: routing[severity].groupWait,
          repeat_interval: routing[severity].repeatInterval,
        })),
      ],
    },
    inhibit_rules: [
      // The more severe alert of a family (e.g. GPU temperature critical over warning) suppresses the rest for the same target.
      { source_matchers: ['severity="critical"', 'family=~".+"'], target_matchers: ['severity=~"warning|info"'], equal: SAME_TARGET },
      { source_matchers: ['severity="warning"', 'family=~".+"'], target_matchers: ['severity="info"'], equal: SAME_TARGET },
      // A host whose node-exporter is unreachable is down: its other targets' alerts add nothing.
      {
        source_matchers: ['alertname=~"DS01NodeExporterDown|TargetDown"', `job="${nodeJob}"`],
        target_matchers: [`job!="${nodeJob}"`, `alertname!="${WATCHDOG_ALERT}"`],
        equal: ["instance"],
      },
    ],
    receivers,
  };
  return {
    yaml: `# Generated by gpu-monitoring from alerts/; edit the stack config, not this file.\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`,
    secretFiles,
  };
}
