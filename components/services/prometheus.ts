import type { StackConfig } from "../config";
import { PROMETHEUS_CONFIG_DIR, renderBundle, type BundleFile } from "../render";
import type { ServiceSpec } from "../spec";
import { NOBODY, baseSpec, configFilesFrom, mainPort, resources, wgetHealth } from "./common";

export const PROMETHEUS_DATA_DIR = "/prometheus";

/** Prometheus: config and rules from the bundle, TSDB on a persistent volume, retention from config. */
export function prometheusService(cfg: StackConfig, bundle: readonly BundleFile[] = renderBundle(cfg)): ServiceSpec {
  const port = mainPort(cfg, "prometheus", "http");
  const fileSdMount = cfg.fileSd.hostDir
    ? [{ hostPath: cfg.fileSd.hostDir, mountPath: `${PROMETHEUS_CONFIG_DIR}/file_sd`, readOnly: true }]
    : [];
  return {
    ...baseSpec(cfg, "prometheus"),
    args: [
      `--config.file=${PROMETHEUS_CONFIG_DIR}/prometheus.yml`,
      `--storage.tsdb.path=${PROMETHEUS_DATA_DIR}`,
      `--storage.tsdb.retention.time=${cfg.retention.time}`,
      `--storage.tsdb.retention.size=${cfg.retention.size}`,
      `--web.listen-address=:${port.containerPort}`,
    ],
    ports: [port],
    configFiles: configFilesFrom(bundle, "prometheus", PROMETHEUS_CONFIG_DIR),
    dataVolumes: [{ name: "data", mountPath: PROMETHEUS_DATA_DIR, size: retentionVolumeSize(cfg.retention.size) }],
    hostMounts: fileSdMount,
    user: NOBODY,
    extraHosts: cfg.components.exporter && cfg.exporter.run === "host" ? ["host.docker.internal:host-gateway"] : [],
    healthCheck: { kind: "http", path: "/-/healthy", port: port.containerPort },
    healthCommand: wgetHealth(port.containerPort, "/-/healthy"),
    resources: resources("250m", "512Mi", "1", "4Gi"),
    placement: "cluster",
  };
}

/** A volume a little larger than the retention size: the WAL and compaction need headroom. */
export function retentionVolumeSize(size: string): string {
  const m = /^(\d+)(B|KB|MB|GB|TB|PB|EB)$/.exec(size);
  if (!m) return size;
  const units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
  const bytes = Number(m[1]) * 1024 ** units.indexOf(m[2]!);
  const gi = Math.max(1, Math.ceil((bytes * 1.25) / 1024 ** 3));
  return `${gi}Gi`;
}
