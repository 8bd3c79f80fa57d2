import type * as k8s from "@pulumi/kubernetes";
import type { StackConfig } from "../../config/resolve";
import type { PodAdditions } from "../../services/descriptor";
import { registeredServices } from "../../services/registry";
import type { ServiceName, ServiceSpec } from "../../spec";
import { PART_OF, PART_OF_LABEL, componentName, componentSelector, objectLabels } from "./labels";
import type { ManifestOf } from "./manifest";

/**
 * NetworkPolicies. The namespace denies all ingress and egress by default (namespacePolicies);
 * then ingress per service, from the services its descriptor names (`kubernetes.ingressFrom`,
 * Prometheus only by default, as for an exporter) and from its own peers on their gossip ports.
 * Egress: DNS and the namespace's own pods for all, and per service only the ports its
 * descriptor asks for beyond (egressPorts). Policies do not apply to hostNetwork pods
 * (node-exporter), which are reachable on the node IP.
 */

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Rule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;

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
  /** Who may connect to the service's ports (its descriptor's `kubernetes.ingressFrom`). */
  readonly from: readonly ServiceName[] | "anyone";
  /** Ports the service's own pods reach each other on. */
  readonly peerPorts: PodAdditions["peerPorts"];
}

/** Who may reach the pods of one service. */
function ingressRules(spec: ServiceSpec, o: PolicyOptions): Rule[] {
  if (o.from === "anyone") return [{ ports: tcp(spec) }];
  const present = o.from.filter((s) => o.enabled.has(s));
  const peers = (o.peerPorts ?? []).flatMap((p) => p.protocols.map((protocol) => ({ protocol, port: p.port })));
  return [
    ...(present.length ? [{ from: from(...present), ports: tcp(spec) }] : []),
    ...(peers.length ? [{ from: from(spec.name), ports: peers }] : []),
  ];
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

/**
 * Where each service must reach beyond the namespace, from its descriptor's
 * `kubernetes.egress`: the API server (443 and 6443) and the ports the stack config names
 * (remote-write endpoints, receivers, the DRM coordinator). Everything else is denied by the
 * namespace's default-deny policy.
 */
export function egressPorts(cfg: StackConfig): EgressPorts {
  const out: Record<string, number[]> = {};
  for (const d of registeredServices()) {
    const egress = d.kubernetes?.egress;
    if (!egress) continue;
    const ports = new Set<number>([...(egress.apiServer ? API_SERVER_PORTS : []), ...(egress.ports?.(cfg) ?? [])]);
    out[d.name] = [...ports].sort((a, b) => a - b);
  }
  return out;
}

/** The API server's ports: 443 behind the `kubernetes` Service, 6443 on the control-plane nodes. */
const API_SERVER_PORTS = [443, 6443];

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
