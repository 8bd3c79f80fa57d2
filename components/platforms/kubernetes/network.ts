import type * as k8s from "@pulumi/kubernetes";
import type { StackConfig } from "../../config/resolve";
import type { ServiceName, ServiceSpec } from "../../spec";
import { PART_OF, PART_OF_LABEL, componentName, componentSelector, objectLabels } from "./labels";
import type { ManifestOf } from "./manifest";

/**
 * NetworkPolicies. The namespace denies all ingress and egress by default (namespacePolicies);
 * then ingress per service: exporters accept only Prometheus; Prometheus accepts Grafana (and its
 * own replicas, which scrape each other); Alertmanager accepts Prometheus and Grafana, and its
 * peers on the gossip port; Grafana accepts Prometheus' scrape, and everyone only when its
 * Ingress is enabled (the ingress controller's namespace is not known here). Egress: DNS and the
 * namespace's own pods for all, and per service only the ports it needs beyond (egressPorts).
 * Policies do not apply to hostNetwork pods (node-exporter), which are reachable on the node IP.
 */

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Rule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;

const EXPORTERS: readonly ServiceName[] = ["nodeExporter", "dcgmExporter", "cadvisor", "exporter"];

function from(...services: ServiceName[]): Peer[] {
  return services.map((s) => ({ podSelector: { matchLabels: componentSelector(s) } }));
}

function tcp(spec: ServiceSpec): k8s.types.input.networking.v1.NetworkPolicyPort[] {
  return spec.ports.map((p) => ({ protocol: "TCP", port: p.containerPort }));
}

export interface PolicyOptions {
  readonly namespace: string;
  /** Services running in the stack (who may be allowed in). */
  readonly enabled: ReadonlySet<ServiceName>;
  readonly grafanaIngress: boolean;
  /** Alertmanager gossip port, when it runs as a cluster. */
  readonly alertmanagerClusterPort?: number;
}

/** Who may reach the pods of one service; undefined for a service with no port. */
function ingressRules(spec: ServiceSpec, o: PolicyOptions): Rule[] {
  const has = (s: ServiceName) => o.enabled.has(s);
  const present = (...services: ServiceName[]) => services.filter(has);
  const allow = (services: ServiceName[]): Rule[] => (services.length ? [{ from: from(...services), ports: tcp(spec) }] : []);
  if (EXPORTERS.includes(spec.name)) return allow(present("prometheus"));
  switch (spec.name) {
    case "prometheus":
      return allow(present("prometheus", "grafana"));
    case "alertmanager":
      return [
        ...allow(present("prometheus", "grafana")),
        ...(o.alertmanagerClusterPort !== undefined
          ? [
              {
                from: from("alertmanager"),
                ports: [
                  { protocol: "TCP", port: o.alertmanagerClusterPort },
                  { protocol: "UDP", port: o.alertmanagerClusterPort },
                ],
              },
            ]
          : []),
      ];
    case "grafana":
      return o.grafanaIngress ? [{ ports: tcp(spec) }] : allow(present("prometheus"));
    default:
      return [];
  }
}

/**
 * The policy for one service's pods (all its workloads: it selects by component). An empty
 * ingress list denies all ingress to them.
 */
export function networkPolicyFor(spec: ServiceSpec, o: PolicyOptions): ManifestOf<"NetworkPolicy"> {
  const name = `${componentName(spec.name)}-ingress`;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: o.namespace, labels: objectLabels(spec.name, name) },
    spec: {
      podSelector: { matchLabels: componentSelector(spec.name) },
      policyTypes: ["Ingress"],
      ingress: ingressRules(spec, o),
    },
  };
}

/** Ports a service opens connections to outside the namespace; computed from the stack config. */
export type EgressPorts = Readonly<Partial<Record<ServiceName, readonly number[]>>>;

function portOfUrl(raw: string): number {
  const u = new URL(raw);
  return u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
}

/**
 * Where each service must reach beyond the namespace: Prometheus the API server (service
 * discovery), node-exporter on the nodes' own network, remote-write endpoints and extra scrape
 * targets; Alertmanager its receivers; the DS01/DRM exporter the DRM coordinator. Everything else
 * is denied by the namespace's default-deny policy.
 */
export function egressPorts(cfg: StackConfig): EgressPorts {
  const prometheus = new Set<number>([443, 6443, cfg.ports.nodeExporter]);
  for (const rw of cfg.kubernetes.prometheus.remoteWrite) prometheus.add(portOfUrl(rw.url));
  for (const t of cfg.extraScrapeTargets) for (const target of t.targets) prometheus.add(Number(target.split(":").pop()));
  const alertmanager = new Set<number>();
  for (const r of cfg.alerting.receivers) {
    if (r.type === "email") alertmanager.add(Number(r.smarthost.split(":").pop()));
    else if (r.type === "webhook") alertmanager.add(portOfUrl(r.url));
    else if (r.type === "slack") alertmanager.add(443);
  }
  const exporter = cfg.exporter.drmUrl ? [portOfUrl(cfg.exporter.drmUrl)] : [];
  const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);
  return { prometheus: sorted(prometheus), alertmanager: sorted(alertmanager), exporter };
}

/**
 * The namespace's baseline: nothing in or out (default-deny, ingress and egress), then DNS to
 * anywhere and any stack pod to any other pod of the namespace (whose own ingress policy still
 * decides who gets in).
 */
export function namespacePolicies(namespace: string): ManifestOf<"NetworkPolicy">[] {
  const meta = (name: string) => ({ name, namespace, labels: { [PART_OF_LABEL]: PART_OF } });
  return [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("gpu-monitoring-default-deny"),
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("gpu-monitoring-egress-dns-and-namespace"),
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          { ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] },
          { to: [{ podSelector: {} }] },
        ],
      },
    },
  ];
}

/** A service's egress beyond the namespace, if it needs any. */
export function egressPolicyFor(spec: ServiceSpec, namespace: string, ports: EgressPorts): ManifestOf<"NetworkPolicy"> | undefined {
  const allowed = ports[spec.name] ?? [];
  if (allowed.length === 0) return undefined;
  const name = `${componentName(spec.name)}-egress`;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace, labels: objectLabels(spec.name, name) },
    spec: {
      podSelector: { matchLabels: componentSelector(spec.name) },
      policyTypes: ["Egress"],
      egress: [{ ports: allowed.map((port) => ({ protocol: "TCP", port })) }],
    },
  };
}
