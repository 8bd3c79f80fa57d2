import { parse } from "yaml";
import { STACK_JOB_NAMES } from "../../metrics/jobs";
import type { StackConfig } from "../config/resolve";
import { remoteWriteSecretKeys } from "../platforms/kubernetes/checks";
import { sdRolesUsed, type KubernetesSdConfig } from "../platforms/kubernetes/discovery";
import { discoveryRules } from "../platforms/kubernetes/rbac";
import type { BundleFile } from "../render/bundle";
import { PROMETHEUS_CONFIG_DIR } from "../render/prometheus";
import type { ServiceSpec } from "../spec";
import { NOBODY, baseSpec, configFilesFrom, mainPort, portOfUrl, resources, wgetHealth } from "./common";
import type { ServiceDescriptor } from "./descriptor";

export const PROMETHEUS_DATA_DIR = "/prometheus";

/** Prometheus: config and rules from the bundle, TSDB on a persistent volume, retention from config. */
export function prometheusSpec(cfg: StackConfig, bundle: readonly BundleFile[]): ServiceSpec {
  const port = mainPort(cfg, "prometheus");
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

/** Where Prometheus reads remote-write credentials on a cluster (one file per Pulumi secret key). */
export const PROMETHEUS_SECRETS_DIR = `${PROMETHEUS_CONFIG_DIR}/secrets`;

/** Kubernetes SD configs in a rendered prometheus.yml (scrape jobs and Alertmanager discovery). */
export function discoveryConfigsOf(prometheusYml: string): { kubernetes_sd_configs?: KubernetesSdConfig[] }[] {
  const doc = (parse(prometheusYml) ?? {}) as {
    scrape_configs?: { kubernetes_sd_configs?: KubernetesSdConfig[] }[];
    alerting?: { alertmanagers?: { kubernetes_sd_configs?: KubernetesSdConfig[] }[] };
  };
  return [...(doc.scrape_configs ?? []), ...(doc.alerting?.alertmanagers ?? [])];
}

function prometheusYmlOf(spec: ServiceSpec): string {
  const file = spec.configFiles.find((f) => f.path.endsWith("/prometheus.yml"));
  if (!file) throw new Error("prometheus: the spec has no prometheus.yml config file");
  return file.content;
}

/** Major version of an image tag like `v2.53.0`; undefined for digests or unknown tags. */
function imageMajor(image: string): number | undefined {
  const m = /:v?(\d+)\.\d+/.exec(image.split("@")[0] ?? "");
  return m ? Number(m[1]) : undefined;
}

export const prometheus: ServiceDescriptor = {
  name: "prometheus",
  componentType: "Prometheus",
  summary: "Prometheus: scrapes every target, evaluates the alert and recording rules, keeps the TSDB",
  image: "prom/prometheus:v3.5.0",
  port: { name: "http", number: 9090 },
  enabledByDefault: { dev: true, prod: true },
  scrape: { job: STACK_JOB_NAMES.prometheus, interval: "30s" },
  probe: { path: "/-/healthy", kind: "healthy" },
  build: prometheusSpec,
  kubernetes: {
    // Replicas keep their own TSDB: a StatefulSet with one claim each.
    workload: "StatefulSet",
    replicas: (kc) => kc.prometheus.replicas,
    storage: (kc) => kc.storage.prometheus,
    imageUid: 65534,
    clusterSpecs: (cfg, spec) => [
      {
        ...spec,
        secretFiles: [
          ...spec.secretFiles,
          ...remoteWriteSecretKeys(cfg.kubernetes).map((key) => ({ path: `${PROMETHEUS_SECRETS_DIR}/${key}`, secretKey: key })),
        ],
      },
    ],
    // Service discovery in the stack's namespace: a Role with what the SD roles in use watch.
    apiAccess: (w) => ({ namespaced: discoveryRules(sdRolesUsed(discoveryConfigsOf(prometheusYmlOf(w.spec)))) }),
    // Its own replicas scrape each other; Grafana queries it.
    ingressFrom: () => ["prometheus", "grafana"],
    egress: {
      apiServer: true,
      // node-exporter on the nodes' own network, remote-write endpoints, extra scrape targets.
      ports: (cfg) => [
        cfg.ports.nodeExporter,
        ...cfg.kubernetes.prometheus.remoteWrite.map((rw) => portOfUrl(rw.url)),
        ...cfg.extraScrapeTargets.flatMap((t) => t.targets.map((target) => Number(target.split(":").pop()))),
      ],
    },
    pod: (w) => {
      const args = [...w.spec.args];
      // Prometheus 3 expands ${POD_NAME} in external labels by default; 2.x needs the flag.
      const major = imageMajor(w.spec.image);
      if (major !== undefined && major < 3 && !args.some((a) => a.includes("expand-external-labels"))) {
        args.push("--enable-feature=expand-external-labels");
      }
      return { args, env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }] };
    },
  },
};
