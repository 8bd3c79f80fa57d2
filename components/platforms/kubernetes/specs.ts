import type * as pulumi from "@pulumi/pulumi";
import {
  ConfigError,
  JOB_NAMES,
  SIMULATED_DCGM_PORT,
  hasDs01Source,
  type StackConfig,
} from "../../config";
import {
  CADVISOR_DROP,
  byNameAddressing,
  PROMETHEUS_CONFIG_DIR,
  extraScrapeJobs,
  renderBundle,
  scrapeTimeout,
  type BundleFile,
  type BundleOptions,
  type ScrapeConfig,
} from "../../render";
import { catalog, type MetricSource } from "../../../metrics";
import { CADVISOR_RUNTIME_SOCKET, DRM_API_KEY_FILE, DS01_SOURCE_FLAGS, grafanaCookieEnv, runsService, serviceSpecs } from "../../services";
import type { ServiceName, ServiceSpec } from "../../spec";
import type { ExporterWorkloads, KubernetesConfig } from "./config";
import { kubernetesConfigProblems, remoteWriteSecretKeys } from "./checks";
import { POD_TARGET_LABELS, alertmanagerDiscovery, kubernetesScrapeJob, type DiscoveredJob } from "./discovery";
import type { Manifest } from "./manifest";
import { egressPorts } from "./network";
import { buildManifests } from "./workloads";

/**
 * The stack config → the service specs for a cluster. The same pure service functions as on
 * Docker, fed a bundle rendered with Kubernetes discovery, then adjusted where a cluster differs
 * (host network for node-exporter, the exporter split by source, Prometheus' remote-write secrets).
 */

/** Where Prometheus reads remote-write credentials (one file per Pulumi secret key). */
export const PROMETHEUS_SECRETS_DIR = `${PROMETHEUS_CONFIG_DIR}/secrets`;
/** The DS01 exporter's DaemonSet is named after its Deployment with this suffix. */
export const EXPORTER_NODE_SUFFIX = "-node";

/** Services reach each other through a ClusterIP Service named like the Docker container. */
export const kubernetesAddressing = byNameAddressing;

const DS01_FLAGS = Object.values(DS01_SOURCE_FLAGS).map((f) => f.flag);
const DRM_FLAGS = ["--drm-url", "--api-key-file"];
const SIMULATION_FLAGS = ["--simulation", "--simulate-dcgm-port"];

function dropFlags(args: readonly string[], flags: readonly string[]): string[] {
  return args.filter((a) => !flags.some((f) => a === f || a.startsWith(`${f}=`)));
}

/** Which exporter workloads run: `auto` follows the configured sources. */
export function exporterWorkloads(cfg: StackConfig): Exclude<ExporterWorkloads, "auto"> {
  const mode = cfg.kubernetes.exporterWorkloads;
  if (mode !== "auto") return mode;
  const nodeLocal = hasDs01Source(cfg.exporter.sources);
  const clusterWide = Boolean(cfg.exporter.drmUrl) || cfg.exporter.simulation;
  return nodeLocal ? (clusterWide ? "both" : "daemonSet") : "deployment";
}

/**
 * The exporter as a Deployment (DRM API, simulation) and/or a DaemonSet on GPU nodes (DS01's host
 * files). With both, each keeps only its own sources, so no series is exported twice.
 */
function exporterSpecs(cfg: StackConfig, spec: ServiceSpec): ServiceSpec[] {
  const mode = exporterWorkloads(cfg);
  const deployment: ServiceSpec = {
    ...spec,
    args: dropFlags(spec.args, DS01_FLAGS),
    hostMounts: [],
    hostPid: false,
    hostNetwork: false,
    supplementalGroups: [],
    gpus: undefined,
    placement: "cluster",
  };
  const daemonSet = (alone: boolean): ServiceSpec => ({
    ...spec,
    resourceName: `${spec.resourceName}${EXPORTER_NODE_SUFFIX}`,
    args: alone ? [...spec.args] : dropFlags(spec.args, [...DRM_FLAGS, ...SIMULATION_FLAGS]),
    ports: alone ? spec.ports : spec.ports.filter((p) => p.containerPort !== SIMULATED_DCGM_PORT),
    secretFiles: alone ? spec.secretFiles : spec.secretFiles.filter((f) => f.path !== DRM_API_KEY_FILE),
    placement: "gpuNodes",
  });
  switch (mode) {
    case "deployment":
      return [deployment];
    case "daemonSet":
      return [daemonSet(true)];
    case "both":
      return [deployment, daemonSet(false)];
  }
}

function job(
  cfg: StackConfig,
  jobName: string,
  service: ServiceName,
  portName: string,
  interval: string,
  more: Partial<DiscoveredJob> = {},
): ScrapeConfig {
  return kubernetesScrapeJob(cfg.kubernetes.namespace, {
    jobName,
    service,
    portName,
    interval,
    timeout: scrapeTimeout(interval),
    perNode: false,
    ...more,
  });
}

/** POD_TARGET_LABELS that the catalog's metrics from these sources carry as data. */
function dataLabelsOf(...sources: readonly MetricSource[]): string[] {
  const carried = new Set<string>(Object.values(catalog).flatMap((m) => (sources.includes(m.source) ? [...m.labels] : [])));
  return POD_TARGET_LABELS.filter((l) => carried.has(l));
}

/** Every scrape job on a cluster: pods found by Kubernetes discovery, plus the user's extra jobs. */
export function kubernetesScrapeJobs(cfg: StackConfig): ScrapeConfig[] {
  const on = (s: ServiceName) => runsService(cfg, s);
  const iv = cfg.scrapeIntervals;
  const jobs: ScrapeConfig[] = [];
  if (on("prometheus")) jobs.push(job(cfg, JOB_NAMES.prometheus, "prometheus", "http", iv.prometheus));
  if (on("alertmanager")) jobs.push(job(cfg, JOB_NAMES.alertmanager, "alertmanager", "http", iv.alertmanager));
  if (on("grafana")) jobs.push(job(cfg, JOB_NAMES.grafana, "grafana", "http", iv.grafana));
  if (on("nodeExporter")) jobs.push(job(cfg, JOB_NAMES.nodeExporter, "nodeExporter", "metrics", iv.nodeExporter, { perNode: true }));
  if (on("dcgmExporter")) {
    jobs.push(
      job(cfg, JOB_NAMES.dcgmExporter, "dcgmExporter", "metrics", iv.dcgmExporter, { perNode: true, honorLabels: true, dataLabels: dataLabelsOf("dcgm") }),
    );
  } else if (on("exporter") && cfg.exporter.simulatedDcgmPort !== undefined) {
    jobs.push(job(cfg, JOB_NAMES.dcgmExporter, "exporter", "dcgm-sim", iv.dcgmExporter, { dataLabels: dataLabelsOf("dcgm") }));
  }
  if (on("cadvisor")) {
    jobs.push(
      job(cfg, JOB_NAMES.cadvisor, "cadvisor", "http", iv.cadvisor, { perNode: true, metricRelabels: [CADVISOR_DROP], dataLabels: dataLabelsOf("cadvisor") }),
    );
  }
  if (on("exporter")) {
    jobs.push(
      job(cfg, JOB_NAMES.exporter, "exporter", "metrics", iv.exporter, {
        perNode: exporterWorkloads(cfg) === "daemonSet",
        dataLabels: dataLabelsOf("ds01", "drm", "exporter"),
      }),
    );
  } else if (cfg.components.exporter) {
    // Run on the hosts by systemd: scraped where the config says.
    const interval = iv.exporter;
    jobs.push({
      job_name: JOB_NAMES.exporter,
      scrape_interval: interval,
      scrape_timeout: scrapeTimeout(interval),
      static_configs: [{ targets: [cfg.exporter.hostTarget] }],
    });
  }
  return [...jobs, ...extraScrapeJobs(cfg)];
}

function remoteWriteSection(kc: KubernetesConfig): Record<string, unknown>[] {
  return kc.prometheus.remoteWrite.map((rw) => ({
    url: rw.url,
    ...(rw.name ? { name: rw.name } : {}),
    ...(rw.basicAuth
      ? { basic_auth: { username: rw.basicAuth.username, password_file: `${PROMETHEUS_SECRETS_DIR}/${rw.basicAuth.passwordSecretKey}` } }
      : {}),
    ...(rw.bearerTokenSecretKey
      ? { authorization: { type: "Bearer", credentials_file: `${PROMETHEUS_SECRETS_DIR}/${rw.bearerTokenSecretKey}` } }
      : {}),
  }));
}

/** How a cluster stack's config files are rendered: discovery-based prometheus.yml, HA labels, remote_write. */
export function kubernetesBundleOptions(cfg: StackConfig): BundleOptions {
  const kc = cfg.kubernetes;
  const ha = kc.prometheus.replicas > 1;
  const alerting = runsService(cfg, "alertmanager")
    ? {
        alerting: {
          // HA replicas send the same alerts; without their replica label Alertmanager deduplicates them.
          ...(ha ? { alert_relabel_configs: [{ action: "labeldrop", regex: kc.prometheus.replicaLabel }] } : {}),
          alertmanagers: [alertmanagerDiscovery(kc.namespace, "http")],
        },
      }
    : {};
  const remoteWrite = kc.prometheus.remoteWrite.length > 0 ? { remote_write: remoteWriteSection(kc) } : {};
  return {
    addressing: kubernetesAddressing(cfg),
    scrapeJobs: kubernetesScrapeJobs(cfg),
    prometheus: {
      alertmanagerTargets: [],
      // Each pod's own name, expanded by Prometheus from the POD_NAME env var the pod sets.
      ...(ha ? { externalLabels: { [kc.prometheus.replicaLabel]: "${POD_NAME}" } } : {}),
      extra: { ...alerting, ...remoteWrite },
    },
  };
}

export function kubernetesBundle(cfg: StackConfig): BundleFile[] {
  return renderBundle(cfg, kubernetesBundleOptions(cfg));
}

/** Labels cAdvisor keeps on a cluster: the pod and namespace a container belongs to. */
const CADVISOR_K8S_LABELS = ["io.kubernetes.container.name", "io.kubernetes.pod.name", "io.kubernetes.pod.namespace"];
/** Cluster nodes run containerd: its socket (cAdvisor's default path) replaces Docker's, nothing else of /run. */
const CONTAINERD_SOCKET = "/run/containerd/containerd.sock";

/**
 * A service spec as it runs on a cluster; the exporter may become two (Deployment and
 * DaemonSet). Pure.
 */
export function clusterSpecs(cfg: StackConfig, spec: ServiceSpec): ServiceSpec[] {
  switch (spec.name) {
    case "prometheus":
      return [
        {
          ...spec,
          secretFiles: [
            ...spec.secretFiles,
            ...remoteWriteSecretKeys(cfg.kubernetes).map((key) => ({ path: `${PROMETHEUS_SECRETS_DIR}/${key}`, secretKey: key })),
          ],
        },
      ];
    // node-exporter as upstream runs it on Kubernetes: the node's own network and process views.
    case "nodeExporter":
      return [{ ...spec, hostNetwork: true, hostPid: true }];
    case "cadvisor":
      return [
        {
          ...spec,
          args: spec.args.map((a) =>
            a.startsWith("--whitelisted_container_labels=") ? `${a},${CADVISOR_K8S_LABELS.join(",")}` : a,
          ),
          hostMounts: spec.hostMounts.map((m) =>
            m.hostPath === CADVISOR_RUNTIME_SOCKET ? { hostPath: CONTAINERD_SOCKET, mountPath: CONTAINERD_SOCKET, readOnly: true } : m,
          ),
        },
      ];
    case "grafana": {
      const ing = cfg.kubernetes.grafana.ingress;
      if (!ing.enabled || cfg.grafanaRootUrl) return [spec];
      const scheme = ing.tlsSecretName ? "https" : "http";
      const rootUrl = `${scheme}://${ing.host}/`;
      return [{ ...spec, env: { ...spec.env, GF_SERVER_ROOT_URL: rootUrl, ...grafanaCookieEnv(rootUrl) } }];
    }
    case "exporter":
      return exporterSpecs(cfg, spec);
    default:
      return [spec];
  }
}

/** The specs the Kubernetes platform deploys. Throws ConfigError on Kubernetes-only problems. */
export function kubernetesServiceSpecs(cfg: StackConfig, bundle: readonly BundleFile[] = kubernetesBundle(cfg)): ServiceSpec[] {
  const problems = kubernetesConfigProblems(cfg);
  if (problems.length > 0) throw new ConfigError(problems);
  return serviceSpecs(cfg, bundle).flatMap((s) => clusterSpecs(cfg, s));
}

/**
 * Every object of a cluster stack as plain data, namespace first: what `pulumi up -s k8s` declares
 * (and what render-to-directory writes), without Pulumi.
 */
export function kubernetesManifests(cfg: StackConfig, secretValue: (key: string) => pulumi.Input<string>): Manifest[] {
  return buildManifests({ specs: kubernetesServiceSpecs(cfg), kubernetes: cfg.kubernetes, secretValue, egress: egressPorts(cfg) });
}
