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
  readonly specs: ReadonlyMap<ServiceName, ServiceSpec>;
  readonly grafanaIngress: boolean;
  /** Alertmanager gossip port, when it runs as a cluster. */
  readonly alertmanagerClusterPort?: number;
}

export function networkPolicies(o: PolicyOptions): ManifestOf<"NetworkPolicy">[] {
  const rules = new Map<ServiceName, Rule[]>();
  const has = (s: ServiceName) => o.specs.has(s);
  const specOf = (s: ServiceName) => o.specs.get(s) as ServiceSpec;

  for (const s of EXPORTERS) if (has(s)) rules.set(s, [{ from: from("prometheus"), ports: tcp(specOf(s)) }]);
  if (has("prometheus")) {
    const queriers: ServiceName[] = ["prometheus", ...(has("grafana") ? (["grafana"] as const) : [])];
    rules.set("prometheus", [{ from: from(...queriers), ports: tcp(specOf("prometheus")) }]);
  }
  if (has("alertmanager")) {
    const clients: ServiceName[] = ["prometheus", "grafana"].filter((s): s is ServiceName => has(s as ServiceName)) as ServiceName[];
    const r: Rule[] = clients.length ? [{ from: from(...clients), ports: tcp(specOf("alertmanager")) }] : [];
    if (o.alertmanagerClusterPort !== undefined) {
      r.push({
        from: from("alertmanager"),
        ports: [
          { protocol: "TCP", port: o.alertmanagerClusterPort },
          { protocol: "UDP", port: o.alertmanagerClusterPort },
        ],
      });
    }
    rules.set("alertmanager", r);
  }
  if (has("grafana")) {
    rules.set(
      "grafana",
      o.grafanaIngress
        ? [{ ports: tcp(specOf("grafana")) }]
        : has("prometheus")
          ? [{ from: from("prometheus"), ports: tcp(specOf("grafana")) }]
          : [],
    );
  }

  return [...rules.entries()].map(([service, ingress]) => {
    const name = `${componentName(service)}-ingress`;
    return {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name, namespace: o.namespace, labels: objectLabels(service, name) },
      spec: {
        podSelector: { matchLabels: componentSelector(service) },
        policyTypes: ["Ingress"],
        // An empty list denies all ingress to the selected pods.
        ingress,
      },
    };
  });
}
