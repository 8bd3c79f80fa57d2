import type * as k8s from "@pulumi/kubernetes";
import type { ServiceName, ServiceSpec } from "../../spec";
import { componentName, componentSelector, objectLabels } from "./labels";
import type { ManifestOf } from "./manifest";

/**
 * Ingress NetworkPolicies: exporters accept only Prometheus; Prometheus accepts Grafana (and its
 * own replicas, which scrape each other); Alertmanager accepts Prometheus and Grafana, and its
 * peers on the gossip port; Grafana accepts Prometheus' scrape, and everyone only when its
 * Ingress is enabled (the ingress controller's namespace is not known here).
 * Egress is left open: Prometheus must reach the API server and remote-write endpoints.
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
