import type { StackConfig } from "../config";
import { ALERTMANAGER_CONFIG_DIR, alertmanagerConfigFor, renderBundle, type BundleFile } from "../render";
import type { ServiceSpec } from "../spec";
import { NOBODY, baseSpec, configFilesFrom, mainPort, resources, wgetHealth } from "./common";

export const ALERTMANAGER_DATA_DIR = "/alertmanager";

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
    // Receivers read their credentials from files; each file's content is the named Pulumi secret.
    secretFiles: alertmanagerConfigFor(cfg).secretFiles.map((f) => ({ path: f.path, secretKey: f.secretKey.replace(/^gpu-monitoring:/, "") })),
    dataVolumes: [{ name: "data", mountPath: ALERTMANAGER_DATA_DIR, size: "1Gi" }],
    user: NOBODY,
    healthCheck: { kind: "http", path: "/-/healthy", port: port.containerPort },
    healthCommand: wgetHealth(port.containerPort, "/-/healthy"),
    resources: resources("50m", "64Mi", "250m", "256Mi"),
    placement: "cluster",
  };
}
