import type { StackConfig } from "../config";
import type { ServiceSpec } from "../spec";
import { baseSpec, mainPort, resources } from "./common";

/**
 * NVIDIA's DCGM exporter: the configured GPUs and SYS_ADMIN (DCGM's profiling counters need it),
 * nothing else. It runs as the image's root user: DCGM's host engine opens the NVIDIA devices.
 * The DCP counter list carries DCGM_FI_PROF_GR_ENGINE_ACTIVE, the utilisation MIG instances report.
 */
export function dcgmExporterService(cfg: StackConfig): ServiceSpec {
  if (!cfg.gpu) throw new Error("dcgmExporterService needs gpu settings (the config check requires them when DCGM is on)");
  const port = mainPort(cfg, "dcgmExporter", "metrics");
  return {
    ...baseSpec(cfg, "dcgmExporter"),
    env: { DCGM_EXPORTER_COLLECTORS: cfg.gpu.collectors, DCGM_EXPORTER_LISTEN: `:${port.containerPort}` },
    ports: [port],
    // DCGM writes its host-engine state and logs under /var and /tmp in the image.
    readOnlyRootFilesystem: false,
    capabilities: { add: ["SYS_ADMIN"], drop: ["ALL"] },
    gpus: cfg.gpu.devices,
    healthCheck: { kind: "http", path: "/health", port: port.containerPort },
    // The image has neither wget nor curl.
    healthCommand: ["pgrep", "-f", "dcgm-exporter"],
    resources: resources("100m", "128Mi", "500m", "512Mi"),
    placement: "gpuNodes",
  };
}
