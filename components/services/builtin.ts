import { alertmanager } from "./alertmanager";
import { cadvisor } from "./cadvisor";
import { dcgmExporter } from "./dcgmExporter";
import { exporter } from "./exporter";
import { grafana } from "./grafana";
import { kubeStateMetrics } from "./kubeStateMetrics";
import { nodeExporter } from "./nodeExporter";
import { prometheus } from "./prometheus";
import { registerService } from "./registry";

/**
 * The services the stack ships with, one registration line each. The order is the order of the
 * scrape jobs, the containers and the docs' tables.
 */
registerService(prometheus);
registerService(alertmanager);
registerService(grafana);
registerService(nodeExporter);
registerService(dcgmExporter);
registerService(cadvisor);
registerService(exporter);
registerService(kubeStateMetrics);
