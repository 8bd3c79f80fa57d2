import { STACK_JOB_NAMES } from "../../metrics/jobs";
import type { StackConfig } from "../config/resolve";
import type { KubernetesConfig } from "../platforms/kubernetes/config";
import type { BundleFile } from "../render/bundle";
import { GRAFANA_PROVISIONING_DIR } from "../render/grafana";
import type { ServiceSpec } from "../spec";
import { baseSpec, configFilesFrom, mainPort, resources, wgetHealth } from "./common";
import type { ServiceDescriptor } from "./descriptor";

export const GRAFANA_DATA_DIR = "/var/lib/grafana";
/** Secret key (stack config) of Grafana's admin password, and where the file lands. */
export const GRAFANA_PASSWORD_SECRET = "grafanaAdminPassword";
export const GRAFANA_PASSWORD_FILE = `${GRAFANA_PROVISIONING_DIR}/secrets/admin_password`;

/** Session cookies only over TLS when Grafana is served over https (a TLS ingress or proxy in front). */
export function grafanaCookieEnv(rootUrl: string): Record<string, string> {
  return rootUrl.startsWith("https://") ? { GF_SECURITY_COOKIE_SECURE: "true" } : {};
}

/**
 * Grafana: provisioning from the bundle; the admin password only as a file (`__FILE` variable),
 * so it shows in neither `docker inspect` nor the environment of the process.
 */
export function grafanaSpec(cfg: StackConfig, bundle: readonly BundleFile[]): ServiceSpec {
  const port = mainPort(cfg, "grafana");
  const rootUrl = cfg.grafanaRootUrl ?? `http://${cfg.bindAddresses.grafana === "0.0.0.0" ? "localhost" : cfg.bindAddresses.grafana}:${port.hostPort}`;
  return {
    ...baseSpec(cfg, "grafana"),
    env: {
      GF_SECURITY_ADMIN_USER: cfg.grafanaAdminUser,
      GF_SECURITY_ADMIN_PASSWORD__FILE: GRAFANA_PASSWORD_FILE,
      GF_SERVER_ROOT_URL: rootUrl,
      GF_SERVER_HTTP_PORT: String(port.containerPort),
      GF_PATHS_PROVISIONING: GRAFANA_PROVISIONING_DIR,
      GF_PATHS_DATA: GRAFANA_DATA_DIR,
      GF_PATHS_PLUGINS: `${GRAFANA_DATA_DIR}/plugins`,
      // Console only: the platform keeps stdout; log files in the container would only fill it.
      GF_LOG_MODE: "console",
      GF_USERS_ALLOW_SIGN_UP: "false",
      GF_AUTH_ANONYMOUS_ENABLED: "false",
      // Nothing leaves for grafana.com, gravatar.com or snapshot services: GPU hosts are often
      // offline, and dashboards, user e-mails and versions are nobody else's business.
      GF_ANALYTICS_REPORTING_ENABLED: "false",
      GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
      GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: "false",
      GF_ANALYTICS_FEEDBACK_LINKS_ENABLED: "false",
      GF_NEWS_NEWS_FEED_ENABLED: "false",
      GF_SNAPSHOTS_EXTERNAL_ENABLED: "false",
      GF_SECURITY_DISABLE_GRAVATAR: "true",
      GF_DATABASE_WAL: "true",
      ...grafanaCookieEnv(rootUrl),
    },
    ports: [port],
    configFiles: configFilesFrom(bundle, "grafana/provisioning", GRAFANA_PROVISIONING_DIR),
    secretFiles: [{ path: GRAFANA_PASSWORD_FILE, secretKey: GRAFANA_PASSWORD_SECRET }],
    dataVolumes: [{ name: "data", mountPath: GRAFANA_DATA_DIR, size: "2Gi" }],
    // The official image's grafana user.
    user: "472:0",
    healthCheck: { kind: "http", path: "/api/health", port: port.containerPort },
    healthCommand: wgetHealth(port.containerPort, "/api/health"),
    resources: resources("100m", "128Mi", "500m", "512Mi"),
    placement: "cluster",
  };
}

/** Grafana's URL behind its Ingress, when one is enabled (and no root URL is configured). */
function ingressUrl(kc: KubernetesConfig): string | undefined {
  const ing = kc.grafana.ingress;
  return ing.enabled && ing.host ? `${ing.tlsSecretName ? "https" : "http"}://${ing.host}/` : undefined;
}

export const grafana: ServiceDescriptor = {
  name: "grafana",
  componentType: "Grafana",
  summary: "Grafana: the dashboards, with Prometheus and Alertmanager as data sources",
  image: "grafana/grafana-oss:12.1.1",
  port: { name: "http", number: 3000 },
  enabledByDefault: { dev: true, prod: true },
  requiresLogin: true,
  configProblems: (cfg) =>
    cfg.secretKeys.includes(GRAFANA_PASSWORD_SECRET)
      ? []
      : [
          {
            key: GRAFANA_PASSWORD_SECRET,
            message: "Grafana is on but its admin password secret is not set (there is no default password)",
            got: "nothing",
            allowed: `a secret: pulumi config set --secret ${GRAFANA_PASSWORD_SECRET} <password>, or components.grafana: false`,
          },
        ],
  scrape: { job: STACK_JOB_NAMES.grafana, interval: "30s" },
  probe: { path: "/api/health", kind: "grafana" },
  build: grafanaSpec,
  kubernetes: {
    storage: (kc) => kc.storage.grafana,
    imageUid: 472,
    clusterSpecs: (cfg, spec) => {
      const rootUrl = ingressUrl(cfg.kubernetes);
      if (!rootUrl || cfg.grafanaRootUrl) return [spec];
      return [{ ...spec, env: { ...spec.env, GF_SERVER_ROOT_URL: rootUrl, ...grafanaCookieEnv(rootUrl) } }];
    },
    // Behind an Ingress anyone may reach it (the controller's namespace is not known); else Prometheus scrapes it.
    ingressFrom: (kc) => (kc.grafana.ingress.enabled ? "anyone" : ["prometheus"]),
    extraObjects: (w) => {
      const ing = w.kubernetes.grafana.ingress;
      if (!ing.enabled) return [];
      const host = ing.host as string;
      const port = w.spec.ports[0];
      if (!port) throw new Error("grafana: the spec has no port for the ingress");
      return [
        {
          apiVersion: "networking.k8s.io/v1",
          kind: "Ingress",
          metadata: { name: w.name, namespace: w.namespace, labels: { ...w.labels }, annotations: { ...ing.annotations } },
          spec: {
            ...(ing.ingressClassName ? { ingressClassName: ing.ingressClassName } : {}),
            ...(ing.tlsSecretName ? { tls: [{ hosts: [host], secretName: ing.tlsSecretName }] } : {}),
            rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: w.name, port: { name: port.name } } } }] } }],
          },
        },
      ];
    },
    url: (cfg) => ingressUrl(cfg.kubernetes),
  },
};
