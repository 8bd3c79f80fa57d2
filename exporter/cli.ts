import { Command } from "commander";

/** `gpu-monitoring exporter`: serves the DS01/DRM metrics. */
export function exporterCommand(): Command {
  return new Command("exporter").description("Serve DS01 and DRM metrics for Prometheus");
}
