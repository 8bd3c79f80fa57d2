import type { StackConfig } from "../config/resolve";
import type { BundleFile } from "../render/bundle";
import { filesUnder } from "../render/files";
import { resourceName } from "../render/names";
import type { ConfigFileSpec, PortSpec, ResourceSpec, ServiceName, ServiceSpec } from "../spec";
import { serviceDescriptor } from "./registry";

/** Every container drops all capabilities; the few that need one add it back explicitly. */
export const DROP_ALL = { add: [], drop: ["ALL"] } as const;

/** The `nobody` user of the official Prometheus-family images. */
export const NOBODY = "65534:65534";

export function resources(cpuRequest: string, memoryRequest: string, cpuLimit: string, memoryLimit: string): ResourceSpec {
  return { cpuRequest, memoryRequest, cpuLimit, memoryLimit };
}

export function labels(service: ServiceName): Record<string, string> {
  return {
    "app.kubernetes.io/name": service,
    "app.kubernetes.io/part-of": "gpu-monitoring",
    "gpu-monitoring.component": service,
  };
}

/** The service's main port (its descriptor's): container port fixed by the image, host port from the config. */
export function mainPort(cfg: StackConfig, service: ServiceName): PortSpec {
  const { name, number } = serviceDescriptor(service).port;
  return { name, containerPort: number, hostPort: cfg.ports[service] };
}

/** Bundle files under `folder`, placed below `dir` in the container. */
export function configFilesFrom(bundle: readonly BundleFile[], folder: string, dir: string): ConfigFileSpec[] {
  return filesUnder(bundle, folder).map((f) => ({ path: `${dir}/${f.path}`, content: f.content }));
}

/** Fields every spec shares, with the hardened defaults; each service overrides what it must. */
export function baseSpec(cfg: StackConfig, service: ServiceName): Omit<ServiceSpec, "ports" | "resources" | "placement"> {
  return {
    name: service,
    resourceName: resourceName(cfg, service),
    image: cfg.images[service],
    args: [],
    env: {},
    secretEnv: [],
    configFiles: [],
    secretFiles: [],
    dataVolumes: [],
    hostMounts: [],
    readOnlyRootFilesystem: true,
    capabilities: DROP_ALL,
    hostPid: false,
    hostNetwork: false,
    labels: labels(service),
  };
}

/** `wget --spider` health check for the busybox/alpine based images, which ship wget. */
export function wgetHealth(port: number, path: string): string[] {
  return ["wget", "-q", "--spider", `http://127.0.0.1:${port}${path}`];
}

/** `--flag=value` args with the given flag names removed. */
export function withoutFlags(args: readonly string[], flags: readonly string[]): string[] {
  return args.filter((a) => !flags.some((f) => a === f || a.startsWith(`${f}=`)));
}

/** The TCP port a URL connects to. */
export function portOfUrl(raw: string): number {
  const u = new URL(raw);
  return u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
}
