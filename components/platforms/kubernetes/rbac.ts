import type { KubernetesSdRole } from "./discovery";

/**
 * The least API access Prometheus's Kubernetes service discovery needs, derived from the SD
 * roles its config actually uses (Prometheus's documentation lists what each role watches).
 * All discovery is confined to the stack's namespace, so this goes into a namespaced Role.
 * No kubelet or cAdvisor scraping goes through the API server (cAdvisor runs as its own
 * DaemonSet), so nodes/metrics and nodes/proxy are never granted.
 */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const READ = ["get", "list", "watch"] as const;

/** API group -> resources each SD role watches. */
const WATCHED: Record<KubernetesSdRole, Record<string, readonly string[]>> = {
  pod: { "": ["pods"] },
  service: { "": ["services"] },
  endpoints: { "": ["endpoints", "services", "pods"] },
  endpointslice: { "": ["services", "pods"], "discovery.k8s.io": ["endpointslices"] },
  node: { "": ["nodes"] },
  ingress: { "networking.k8s.io": ["ingresses"] },
};

export function discoveryRules(roles: Iterable<KubernetesSdRole>): PolicyRule[] {
  const byGroup = new Map<string, Set<string>>();
  for (const role of roles) {
    for (const [group, resources] of Object.entries(WATCHED[role])) {
      const set = byGroup.get(group) ?? new Set<string>();
      resources.forEach((r) => set.add(r));
      byGroup.set(group, set);
    }
  }
  return [...byGroup.keys()].sort().map((group) => ({
    apiGroups: [group],
    resources: [...(byGroup.get(group) ?? [])].sort(),
    verbs: [...READ],
  }));
}
