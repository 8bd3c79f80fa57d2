import { posix } from "node:path";
import { STACK_JOB_NAMES } from "../../metrics/jobs";
import { SIMULATED_DCGM_PORT } from "../config/defaults";
import type { StackConfig } from "../config/resolve";
import { BUNDLE_PATHS, type BundleFile } from "../render/bundle";
import type { ServiceSpec } from "../spec";
import { baseSpec, configFilesFrom, mainPort, resources } from "./common";
import type { ServiceDescriptor } from "./descriptor";

/** Where the image keeps its counter lists; the stack's own list is placed beside them. */
const COUNTERS_DIR = "/etc/dcgm-exporter";
const STACK_COUNTERS_FILE = `${COUNTERS_DIR}/${posix.basename(BUNDLE_PATHS.dcgmCounters)}`;

/**
 * The counter list the exporter reads: the user's own (`gpu.collectors`, a file in the image), or
 * the stack's, rendered into the bundle from the metric catalog and mounted into the container.
 */
function counterList(cfg: StackConfig, bundle: readonly BundleFile[]): { path: string; configFiles: ServiceSpec["configFiles"] } {
  if (cfg.gpu?.collectors) return { path: cfg.gpu.collectors, configFiles: [] };
  const configFiles = configFilesFrom(bundle, posix.dirname(BUNDLE_PATHS.dcgmCounters), COUNTERS_DIR);
  const file = configFiles.find((f) => f.path === STACK_COUNTERS_FILE);
  if (!file) throw new Error(`dcgmExporter: the bundle has no ${BUNDLE_PATHS.dcgmCounters} (it is rendered when the DCGM exporter is on without gpu.collectors)`);
  return { path: file.path, configFiles };
}

/**
 * NVIDIA's DCGM exporter: the configured GPUs and SYS_ADMIN (DCGM's profiling counters need it),
 * nothing else. It runs as the image's root user: DCGM's host engine opens the NVIDIA devices.
 * Its counter list is the stack's own unless the user names one: every field the alerts and
 * dashboards read, DCGM_FI_PROF_GR_ENGINE_ACTIVE (the utilisation MIG instances report) among them.
 */
export function dcgmExporterService(cfg: StackConfig, bundle: readonly BundleFile[]): ServiceSpec {
  if (!cfg.gpu) throw new Error("dcgmExporterService needs gpu settings (the config check requires them when DCGM is on)");
  const port = mainPort(cfg, "dcgmExporter");
  const counters = counterList(cfg, bundle);
  return {
    ...baseSpec(cfg, "dcgmExporter"),
    env: { DCGM_EXPORTER_COLLECTORS: counters.path, DCGM_EXPORTER_LISTEN: `:${port.containerPort}` },
    configFiles: counters.configFiles,
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

/** Where kubelet's pod-resources socket is mounted in the DCGM exporter (its documented path). */
const POD_RESOURCES_MOUNT = "/var/lib/kubelet/pod-resources";

export const dcgmExporter: ServiceDescriptor = {
  name: "dcgmExporter",
  componentType: "DcgmExporter",
  summary: "NVIDIA's DCGM exporter: GPU utilisation, memory, temperatures, power, XID errors, MIG",
  image: "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04",
  port: { name: "metrics", number: 9400 },
  enabledByDefault: { dev: false, prod: true },
  configProblems: (cfg) => {
    if (!cfg.gpu) {
      return [
        {
          key: "gpu",
          message: "the DCGM exporter is on but no GPUs are configured",
          got: "nothing",
          allowed: `gpu.devices: "all" or a list of GPU ids, or components.dcgmExporter: false`,
        },
      ];
    }
    // That path is where the stack's own list is mounted, which a user's list replaces.
    return cfg.gpu.collectors === STACK_COUNTERS_FILE
      ? [{ key: "gpu.collectors", message: "names the file the stack mounts its own list at", got: cfg.gpu.collectors, allowed: "another file in the image, or no gpu.collectors for the stack's list" }]
      : [];
  },
  scrape: {
    job: STACK_JOB_NAMES.dcgmExporter,
    interval: "15s",
    kubernetes: { perNode: true, honorLabels: true, dataLabelsOf: ["dcgm"] },
    // Without the real exporter, a simulating exporter's DCGM-compatible endpoint takes the job,
    // so dashboards and alerts see the same job either way.
    standIn: (cfg) =>
      cfg.components.exporter && cfg.exporter.simulatedDcgmPort !== undefined
        ? { service: "exporter", portName: "dcgm-sim", containerPort: SIMULATED_DCGM_PORT, hostPort: cfg.exporter.simulatedDcgmPort }
        : undefined,
  },
  probe: { path: "/metrics", kind: "metrics" },
  build: dcgmExporterService,
  // DCGM takes up to a minute to open the GPUs.
  docker: { healthStartPeriod: "60s" },
  kubernetes: {
    imageUid: 0,
    // GPUs are mapped to pods through kubelet's pod-resources API, read-only.
    clusterSpecs: (cfg, spec) => [
      {
        ...spec,
        env: { ...spec.env, DCGM_EXPORTER_KUBERNETES: "true" },
        hostMounts: [
          ...spec.hostMounts.filter((m) => m.mountPath !== POD_RESOURCES_MOUNT),
          { hostPath: cfg.kubernetes.gpuNodes.podResourcesPath, mountPath: POD_RESOURCES_MOUNT, readOnly: true },
        ],
      },
    ],
  },
};
