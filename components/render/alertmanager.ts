import { renderAlertmanagerConfig, type AlertmanagerSecretFile } from "../../alerts/alertmanager";
import { STACK_JOB_NAMES } from "../../metrics/jobs";
import type { StackConfig } from "../config/resolve";

/** Where Alertmanager reads its config; secret files live below it (alerts/alertmanager.ts). */
export const ALERTMANAGER_CONFIG_DIR = "/etc/alertmanager";

/**
 * alertmanager.yml from the alerting config (routes, inhibition, receivers), and the secret files
 * its receivers read: which Pulumi secret goes into which file. Without receivers configured, the
 * alerting config's default `none` receiver keeps alerts in Alertmanager's UI and API only.
 */
export function alertmanagerConfigFor(cfg: StackConfig): { yaml: string; secretFiles: AlertmanagerSecretFile[] } {
  return renderAlertmanagerConfig(cfg.alerting, { nodeExporterJob: STACK_JOB_NAMES.nodeExporter });
}
