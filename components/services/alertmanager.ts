import type { StackConfig } from "../config";
import { ALERTMANAGER_CONFIG_DIR, ALERTMANAGER_SECRETS_DIR, renderBundle, type BundleFile } from "../render";
import type { ServiceSpec } from "../spec";
import { NOBODY, baseSpec, configFilesFrom, mainPort, resources, wgetHealth } from "./common";

export const ALERTMANAGER_DATA_DIR = "/alertmanager";

/** Secrets the alerting config names (`*Secret` fields); each becomes a file Alertmanager reads. */
export function alertingSecretNames(cfg: StackConfig): string[] {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object")
      for (const [k, x] of Object.entries(v)) {
        if (k.endsWith("Secret") && typeof x === "string") names.add(x.replace(/^gpu-monitoring:/, ""));
        else walk(x);
      }
  };
  walk(cfg.alerting);
  return [...names].sort();
}

/** Alertmanager: routing from the bundle, notification secrets as files, silences on a volume. */
export function alertmanagerService(cfg: StackConfig, bundle: readonly BundleFile[] = renderBundle(cfg)): ServiceSpec {
  const port = mainPort(cfg, "alertmanager", "http");
  return {
    ...baseSpec(cfg, "alertmanager"),
    args: [
      `--config.file=${ALERTMANAGER_CONFIG_DIR}/alertmanager.yml`,
      `--storage.path=${ALERTMANAGER_DATA_DIR}`,
      `--web.listen-address=:${port.containerPort}`,
      // One instance on Docker: no gossip port to open.
      "--cluster.listen-address=",
    ],
    ports: [port],
    configFiles: configFilesFrom(bundle, "alertmanager", ALERTMANAGER_CONFIG_DIR),
    secretFiles: alertingSecretNames(cfg).map((key) => ({ path: `${ALERTMANAGER_SECRETS_DIR}/${key}`, secretKey: key })),
    dataVolumes: [{ name: "data", mountPath: ALERTMANAGER_DATA_DIR, size: "1Gi" }],
    user: NOBODY,
    healthCheck: { kind: "http", path: "/-/healthy", port: port.containerPort },
    healthCommand: wgetHealth(port.containerPort, "/-/healthy"),
    resources: resources("50m", "64Mi", "250m", "256Mi"),
    placement: "cluster",
  };
}
