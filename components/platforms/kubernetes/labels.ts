import type { ServiceName } from "../../spec";

/**
 * Label scheme for every object the Kubernetes platform creates.
 * - `app.kubernetes.io/component`: the service (prometheus, node-exporter, ...). Scrape jobs and
 *   NetworkPolicies select on it, so both workloads of our exporter are one scrape job.
 * - `app.kubernetes.io/name`: the workload; unique per Deployment/StatefulSet/DaemonSet, so one
 *   workload's selector never matches another's pods.
 */
export const PART_OF = "gpu-monitoring";
export const COMPONENT_LABEL = "app.kubernetes.io/component";
export const NAME_LABEL = "app.kubernetes.io/name";
export const PART_OF_LABEL = "app.kubernetes.io/part-of";

/** Kubernetes-style (kebab-case) name of a service, e.g. nodeExporter -> node-exporter. */
export function componentName(service: ServiceName): string {
  return service.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The labels a workload selects its pods by; also carried by the pods. */
export function selectorLabels(service: ServiceName, workloadName: string): Record<string, string> {
  return { [NAME_LABEL]: workloadName, [COMPONENT_LABEL]: componentName(service), [PART_OF_LABEL]: PART_OF };
}

/** Labels for every object: the selector labels, the service's own, and who manages it. */
export function objectLabels(
  service: ServiceName,
  workloadName: string,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return { ...extra, ...selectorLabels(service, workloadName), "app.kubernetes.io/managed-by": "pulumi" };
}

/** Selects every pod of a service, whichever workload runs it. */
export function componentSelector(service: ServiceName): Record<string, string> {
  return { [COMPONENT_LABEL]: componentName(service), [PART_OF_LABEL]: PART_OF };
}

/** The headless Service of a StatefulSet, which gives its pods stable DNS names (peers find each other by them). */
export function headlessServiceName(workloadName: string): string {
  return `${workloadName}-headless`;
}
