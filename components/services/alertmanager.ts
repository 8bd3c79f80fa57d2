import { STACK_JOB_NAMES } from "../../metrics/jobs";
import type { StackConfig } from "../config/resolve";
import { headlessServiceName } from "../platforms/kubernetes/labels";
import { ALERTMANAGER_CONFIG_DIR, alertmanagerConfigFor } from "../render/alertmanager";
import type { BundleFile } from "../render/bundle";
import type { ServiceSpec } from "../spec";
import { NOBODY, baseSpec, configFilesFrom, mainPort, portOfUrl, resources, wgetHealth, withoutFlags } from "./common";
import type { ServiceDescriptor } from "./descriptor";

export const ALERTMANAGER_DATA_DIR = "/alertmanager";

/** Alertmanager: routing from the bundle, notification secrets as files, silences on a volume. */
export function alertmanagerSpec(cfg: StackConfig, bundle: readonly BundleFile[]): ServiceSpec {
  const port = mainPort(cfg, "alertmanager");
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

/** Alertmanager's gossip port (its default). */
export const ALERTMANAGER_CLUSTER_PORT = 9094;

export const alertmanager: ServiceDescriptor = {
  name: "alertmanager",
  componentType: "Alertmanager",
  summary: "Alertmanager: groups, silences and routes the alerts to the configured receivers",
  image: "prom/alertmanager:v0.28.1",
  port: { name: "http", number: 9093 },
  enabledByDefault: { dev: true, prod: true },
  scrape: { job: STACK_JOB_NAMES.alertmanager, interval: "30s" },
  probe: { path: "/-/healthy", kind: "healthy" },
  build: alertmanagerSpec,
  kubernetes: {
    // Silences and the notification log per replica; replicas gossip with each other.
    workload: "StatefulSet",
    replicas: (kc) => kc.alertmanager.replicas,
    storage: (kc) => kc.storage.alertmanager,
    imageUid: 65534,
    ingressFrom: () => ["prometheus", "grafana"],
    egress: {
      ports: (cfg) =>
        cfg.alerting.receivers.flatMap((r) =>
          r.type === "email" ? [Number(r.smarthost.split(":").pop())] : r.type === "webhook" ? [portOfUrl(r.url)] : r.type === "slack" ? [443] : [],
        ),
    },
    pod: (w) => {
      const args = withoutFlags(w.spec.args, ["--cluster.listen-address", "--cluster.advertise-address", "--cluster.peer"]);
      // An empty listen address turns gossip off for a single replica.
      if (w.replicas <= 1) return { args: [...args, "--cluster.listen-address="] };
      const headless = headlessServiceName(w.name);
      const port = ALERTMANAGER_CLUSTER_PORT;
      return {
        args: [
          ...args,
          `--cluster.listen-address=0.0.0.0:${port}`,
          `--cluster.advertise-address=$(POD_IP):${port}`,
          ...Array.from({ length: w.replicas }, (_, i) => `--cluster.peer=${w.name}-${i}.${headless}.${w.namespace}.svc:${port}`),
        ],
        env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
        ports: [
          { name: "mesh-tcp", containerPort: port, protocol: "TCP" },
          { name: "mesh-udp", containerPort: port, protocol: "UDP" },
        ],
        peerPorts: [{ port, protocols: ["TCP", "UDP"] }],
      };
    },
  },
};
