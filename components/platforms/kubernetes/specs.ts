import type * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../config/errors";
import type { StackConfig } from "../../config/resolve";
import { byNameAddressing, extraScrapeJobs, renderBundle, scrapeTimeout, serviceScrapeInterval, serviceStaticJob, type BundleFile, type BundleOptions, type ScrapeConfig } from "../../render";
import { catalog, type MetricSource } from "../../../metrics";
import { PROMETHEUS_SECRETS_DIR, buildSpec, registeredServices, runsService, serviceDescriptor, type SpecTransforms } from "../../services";
import type { ServiceDescriptor, ScrapeDescriptor } from "../../services/descriptor";
import type { ServiceSpec } from "../../spec";
import type { KubernetesConfig } from "./config";
import { kubernetesConfigProblems } from "./checks";
import { POD_TARGET_LABELS, alertmanagerDiscovery, kubernetesScrapeJob, type DiscoveredJob } from "./discovery";
import type { Manifest } from "./manifest";
import { egressPorts } from "./network";
import { buildManifests } from "./workloads";

export { EXPORTER_NODE_SUFFIX, PROMETHEUS_SECRETS_DIR, exporterWorkloads } from "../../services";

/**
 * The stack config → the service specs for a cluster. The same spec builders as on Docker, fed
 * a bundle rendered with Kubernetes discovery, then each service's cluster variants
 * (its descriptor's `kubernetes.clusterSpecs`).
 */

/** Services reach each other through a ClusterIP Service named like the Docker container. */
export const kubernetesAddressing = byNameAddressing;

/** POD_TARGET_LABELS that the catalog's metrics from these sources carry as data. */
function dataLabelsOf(sources: readonly MetricSource[] | undefined): string[] {
  if (!sources?.length) return [];
  const carried = new Set<string>(Object.values(catalog).flatMap((m) => (sources.includes(m.source) ? [...m.labels] : [])));
  return POD_TARGET_LABELS.filter((l) => carried.has(l));
}

/** A job that finds the pods of `job.service` by discovery, with the descriptor's name, interval and relabelling. */
function discovered(cfg: StackConfig, owner: string, scrape: ScrapeDescriptor, job: Omit<DiscoveredJob, "jobName" | "interval" | "timeout">): ScrapeConfig {
  const interval = serviceScrapeInterval(cfg, owner, scrape);
  const relabels = [...(scrape.metricRelabels ?? []), ...(scrape.kubernetes?.metricRelabels ?? [])];
  return kubernetesScrapeJob(cfg.kubernetes.namespace, {
    jobName: scrape.job,
    interval,
    timeout: scrapeTimeout(interval),
    ...(scrape.metricsPath ? { metricsPath: scrape.metricsPath } : {}),
    ...(relabels.length ? { metricRelabels: relabels } : {}),
    ...job,
  });
}

/** One service's job on a cluster: its pods found by discovery, its stand-in's, or a static host target. */
function serviceScrapeJobs(cfg: StackConfig, d: ServiceDescriptor): ScrapeConfig[] {
  const scrape = d.scrape;
  if (!scrape) return [];
  const k = scrape.kubernetes ?? {};
  const dataLabels = dataLabelsOf(k.dataLabelsOf);
  const withData = dataLabels.length ? { dataLabels } : {};
  if (runsService(cfg, d.name)) {
    const perNode = typeof k.perNode === "function" ? k.perNode(cfg) : (k.perNode ?? false);
    return [discovered(cfg, d.name, scrape, { service: d.name, portName: d.port.name, perNode, ...(k.honorLabels ? { honorLabels: true } : {}), ...withData })];
  }
  // Enabled but run elsewhere (our exporter under systemd on the hosts): scraped where the config says.
  if (cfg.components[d.name] && d.externalTarget) return [serviceStaticJob(cfg, d.name, scrape, [d.externalTarget(cfg)])];
  const standIn = scrape.standIn?.(cfg);
  if (standIn && runsService(cfg, standIn.service)) {
    return [discovered(cfg, d.name, scrape, { service: standIn.service, portName: standIn.portName, perNode: false, ...withData })];
  }
  return [];
}

/** Every scrape job on a cluster: pods found by Kubernetes discovery, plus the user's extra jobs. */
export function kubernetesScrapeJobs(cfg: StackConfig): ScrapeConfig[] {
  return [...registeredServices().flatMap((d) => serviceScrapeJobs(cfg, d)), ...extraScrapeJobs(cfg)];
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

/**
 * A service spec as it runs on a cluster: its descriptor's cluster variants (our exporter may
 * become a Deployment and a DaemonSet), or the spec as it is. Pure.
 */
export function clusterSpecs(cfg: StackConfig, spec: ServiceSpec): ServiceSpec[] {
  const variants = serviceDescriptor(spec.name).kubernetes?.clusterSpecs;
  return variants ? [...variants(cfg, spec)] : [spec];
}

/** The specs the Kubernetes platform deploys. Throws ConfigError on Kubernetes-only problems. */
export function kubernetesServiceSpecs(cfg: StackConfig, bundle: readonly BundleFile[] = kubernetesBundle(cfg), transforms: SpecTransforms = {}): ServiceSpec[] {
  const problems = kubernetesConfigProblems(cfg);
  if (problems.length > 0) throw new ConfigError(problems);
  return registeredServices()
    .filter((d) => runsService(cfg, d.name))
    .flatMap((d) => clusterSpecs(cfg, buildSpec(d, cfg, bundle, transforms[d.name])));
}

/**
 * Every object of a cluster stack as plain data, namespace first: what `pulumi up -s k8s` declares
 * (and what render-to-directory writes), without Pulumi.
 */
export function kubernetesManifests(cfg: StackConfig, secretValue: (key: string) => pulumi.Input<string>, transforms: SpecTransforms = {}): Manifest[] {
  return buildManifests({ specs: kubernetesServiceSpecs(cfg, kubernetesBundle(cfg), transforms), kubernetes: cfg.kubernetes, secretValue, egress: egressPorts(cfg) });
}
