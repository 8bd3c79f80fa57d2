/**
 * The scrape jobs of the stack's own services, as the rules, dashboards and reports select on
 * them: DS01's job names, keyed by the service that serves each job. The services' descriptors
 * (components/services/) take their job names from here, so rules and the scrape config agree.
 */
export const STACK_JOB_NAMES = {
  prometheus: "prometheus",
  alertmanager: "alertmanager",
  grafana: "grafana",
  nodeExporter: "node-exporter",
  dcgmExporter: "dcgm-exporter",
  cadvisor: "cadvisor",
  exporter: "ds01-exporter",
} as const;

/** A service whose job the rules and dashboards know by name. */
export type StackJobService = keyof typeof STACK_JOB_NAMES;

/** Prometheus's TSDB retention when the stack config sets none; the TSDB size alert and the docs use it too. */
export const DEFAULT_RETENTION = { time: "7d", size: "20GB" } as const;
