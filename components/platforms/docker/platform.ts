import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { SecretValues, StackConfig } from "../../config";
import { dataResourceOptions, type DeployedService, type ServicePlatform } from "../../platform";
import { kebab } from "../../render";
import { findServiceDescriptor } from "../../services/registry";
import type { ServiceSpec } from "../../spec";
import { cpus, dockerReadOnlyRoot, gpuCapability, healthcheck, memoryMb, uidOf } from "./convert";

/** The label DS01 reads as "infrastructure, not a user's work" (see DS01's container labels). */
const DS01_INFRASTRUCTURE_LABEL = "ds01.protected";

export interface DockerPlatformArgs {
  readonly config: StackConfig;
  /** Secret values by key; a spec's secret files and env are looked up here. */
  readonly secrets: SecretValues;
  /** Directory holding exporter/Dockerfile, for building our exporter image. Default: this repository. */
  readonly buildContext?: string;
}

/** What the platform created for one service. */
export interface DockerService extends DeployedService {
  readonly container: docker.Container;
  readonly image: docker.RemoteImage;
  /** Persistent data volumes, by the spec's volume name. */
  readonly volumes: Readonly<Record<string, docker.Volume>>;
}

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

/**
 * Docker on one host: one bridge network the services share (they reach each other by container
 * name), and per service an image, its volumes and its container. Published ports bind to the
 * configured address (127.0.0.1 unless changed).
 */
export class DockerPlatform extends pulumi.ComponentResource implements ServicePlatform<DockerService> {
  readonly kind = "docker" as const;
  readonly network: docker.Network;
  readonly config: StackConfig;
  private readonly secrets: SecretValues;
  private readonly buildContext: string;
  /** This platform's Pulumi name: data volumes are named after it, not after namePrefix. */
  private readonly platformName: string;

  constructor(name: string, args: DockerPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-monitoring:docker:Platform", name, {}, opts);
    this.platformName = name;
    this.config = args.config;
    this.secrets = args.secrets;
    this.buildContext = args.buildContext ?? REPO_ROOT;
    this.network = new docker.Network(
      `${name}-network`,
      {
        name: args.config.namePrefix,
        driver: "bridge",
        labels: [{ label: "app.kubernetes.io/part-of", value: "gpu-monitoring" }],
      },
      // A fixed name cannot exist twice, so a replacement must delete the old network first.
      { parent: this, deleteBeforeReplace: true },
    );
    this.registerOutputs({ networkName: this.network.name });
  }

  deploy(spec: ServiceSpec, parent: pulumi.Resource): DockerService {
    const cfg = this.config;
    const opts = { parent };
    const image = this.image(spec, parent);

    const volumes: Record<string, docker.Volume> = {};
    for (const v of spec.dataVolumes) {
      // The Pulumi name does not follow namePrefix, and the volume's own name is set once at
      // creation: a namePrefix change keeps using the same volume instead of replacing it with
      // an empty one. The alias carries stacks deployed under the earlier, prefix-derived name.
      volumes[v.name] = new docker.Volume(
        `${this.platformName}-${spec.name}-${v.name}`,
        { name: `${spec.resourceName}-${v.name}`, labels: [{ label: "app.kubernetes.io/part-of", value: "gpu-monitoring" }] },
        {
          ...opts,
          ...dataResourceOptions(cfg.data),
          aliases: [{ name: `${spec.resourceName}-${v.name}` }],
          ignoreChanges: ["name"],
        },
      );
    }

    const owner = uidOf(spec.user);
    const uploads: docker.types.input.ContainerUpload[] = [
      ...spec.configFiles.map((f) => ({ file: f.path, content: f.content, permissions: "0444" })),
      ...spec.secretFiles.map((f) => ({
        file: f.path,
        content: this.secret(f.secretKey, spec.name),
        permissions: "0400",
        ...(owner ? { owner } : {}),
      })),
    ];

    const envs: pulumi.Input<string>[] = [
      ...Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      ...spec.secretEnv.map((e) => pulumi.interpolate`${e.name}=${this.secret(e.secretKey, spec.name)}`),
    ];

    const bind = cfg.bindAddresses[spec.name];
    const health = healthcheck(spec);
    const container = new docker.Container(
      spec.resourceName,
      {
        name: spec.resourceName,
        image: image.imageId,
        ...(spec.command ? { entrypoints: [...spec.command] } : {}),
        command: [...spec.args],
        envs,
        ...(spec.user ? { user: spec.user } : {}),
        ...(spec.supplementalGroups?.length ? { groupAdds: spec.supplementalGroups.map(String) } : {}),
        readOnly: dockerReadOnlyRoot(spec),
        capabilities: { adds: [...spec.capabilities.add], drops: [...spec.capabilities.drop] },
        securityOpts: ["no-new-privileges:true"],
        ...(spec.gpus
          ? {
              deviceRequests: [
                spec.gpus === "all"
                  ? { driver: "nvidia", count: -1, capabilities: [gpuCapability(spec)] }
                  : { driver: "nvidia", deviceIds: [...spec.gpus], capabilities: [gpuCapability(spec)] },
              ],
            }
          : {}),
        ...(spec.devices?.length ? { devices: spec.devices.map((d) => ({ hostPath: d, containerPath: d, permissions: "r" })) } : {}),
        ...(spec.hostPid ? { pidMode: "host" } : {}),
        ...(spec.hostNetwork
          ? { networkMode: "host" }
          : {
              networksAdvanced: [{ name: this.network.name, aliases: [kebab(spec.name)] }],
              ports: spec.ports.map((p) => ({ internal: p.containerPort, external: p.hostPort, ip: bind, protocol: "tcp" })),
            }),
        ...(spec.extraHosts?.length
          ? { hosts: spec.extraHosts.map((h) => ({ host: h.slice(0, h.lastIndexOf(":")), ip: h.slice(h.lastIndexOf(":") + 1) })) }
          : {}),
        volumes: [
          ...spec.dataVolumes.map((v) => ({ volumeName: volumes[v.name]!.name, containerPath: v.mountPath })),
          ...spec.hostMounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.mountPath, readOnly: m.readOnly })),
        ],
        uploads,
        ...(health ? { healthcheck: health } : {}),
        restart: "unless-stopped",
        memory: memoryMb(spec.resources.memoryLimit),
        cpus: cpus(spec.resources.cpuLimit),
        labels: [
          ...Object.entries(spec.labels).map(([label, value]) => ({ label, value })),
          // DS01 counts a GPU container it does not manage as "unmanaged" unless it is marked as infrastructure.
          ...(spec.gpus ? [{ label: DS01_INFRASTRUCTURE_LABEL, value: "true" }] : []),
        ],
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "5" },
      },
      // Container names and host ports are fixed: the old container must go before its replacement starts.
      { parent, deleteBeforeReplace: true, dependsOn: [this.network] },
    );

    const host = bind === "0.0.0.0" ? "localhost" : bind;
    const main = spec.ports[0];
    const url = main ? pulumi.output(`http://${host}:${main.hostPort}`) : pulumi.output("");
    return { container, image, volumes, url };
  }

  private image(spec: ServiceSpec, parent: pulumi.Resource): docker.RemoteImage {
    const recipe = findServiceDescriptor(spec.name)?.docker?.build;
    const build = recipe && recipe.when(this.config) ? recipe : undefined;
    return new docker.RemoteImage(
      `${spec.resourceName}-image`,
      {
        name: spec.image,
        // Removing the stack must not delete images other containers on the host may use.
        keepLocally: true,
        ...(build ? { build: { context: this.buildContext, dockerfile: build.dockerfile } } : {}),
      },
      { parent },
    );
  }

  private secret(key: string, service: string): pulumi.Output<string> {
    const value = this.secrets[key];
    if (!value) throw new Error(`${service} needs the secret ${key}, which is not set (pulumi config set --secret ${key} ...)`);
    return pulumi.secret(value);
  }
}
