/** Where Alertmanager reads its config; secret files live below it (alerts/alertmanager.ts). */
export const ALERTMANAGER_CONFIG_DIR = "/etc/alertmanager";
