/**
 * The Pulumi Docker provider's inputs, as the program gives them (recorded under the mocks), turned
 * into Docker Engine API requests, the way the provider would send them. Every input the program
 * may set is handled here or refused: an input this file does not implement throws, so a new
 * setting in components/platforms/docker can never be skipped silently by the real-engine test.
 */

export class UnsupportedInput extends Error {}

type Inputs = Readonly<Record<string, unknown>>;

/** Takes each known key once; `done()` throws on any key left over. */
class Reader {
  private readonly left: Set<string>;
  constructor(
    private readonly what: string,
    private readonly inputs: Inputs,
  ) {
    this.left = new Set(Object.keys(inputs).filter((k) => inputs[k] !== undefined));
  }
  take<T>(key: string): T | undefined {
    this.left.delete(key);
    return this.inputs[key] as T | undefined;
  }
  need<T>(key: string): T {
    const v = this.take<T>(key);
    if (v === undefined) throw new UnsupportedInput(`${this.what}: input ${key} is required`);
    return v;
  }
  done(): void {
    if (this.left.size > 0) throw new UnsupportedInput(`${this.what}: input${this.left.size > 1 ? "s" : ""} ${[...this.left].sort().join(", ")} not implemented by the engine translation`);
  }
}

/** Nested objects (ports, volumes, ...) are checked the same way. */
function nested(what: string, value: unknown): Reader {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UnsupportedInput(`${what}: not an object`);
  return new Reader(what, value as Inputs);
}

/** Go duration as the provider accepts it (`30s`, `1m30s`, `500ms`) → nanoseconds. */
export function durationNs(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== text.length || text === "") throw new UnsupportedInput(`not a duration: ${text}`);
  return Math.round(total);
}

export interface NetworkCreate {
  readonly Name: string;
  readonly Driver: string;
  readonly Labels: Record<string, string>;
  readonly CheckDuplicate: true;
}

export function networkCreate(inputs: Inputs): NetworkCreate {
  const r = new Reader("docker.Network", inputs);
  const body: NetworkCreate = { Name: r.need("name"), Driver: r.take<string>("driver") ?? "bridge", Labels: labelMap(r.take("labels")), CheckDuplicate: true };
  r.done();
  return body;
}

export interface VolumeCreate {
  readonly Name: string;
  readonly Labels: Record<string, string>;
}

export function volumeCreate(inputs: Inputs): VolumeCreate {
  const r = new Reader("docker.Volume", inputs);
  const body: VolumeCreate = { Name: r.need("name"), Labels: labelMap(r.take("labels")) };
  r.done();
  return body;
}

export interface ImageRef {
  /** The image reference the container runs. */
  readonly name: string;
  /** Build from a Dockerfile in a context directory, as the provider's `build` does. */
  readonly build?: { readonly context: string; readonly dockerfile: string };
}

/** RemoteImage: pulled by name (here: a stand-in made beforehand under that name) or built. */
export function remoteImage(inputs: Inputs): ImageRef {
  const r = new Reader("docker.RemoteImage", inputs);
  const name = r.need<string>("name");
  // keepLocally only matters when the resource is deleted: the image stays.
  r.take("keepLocally");
  const build = r.take<Inputs>("build");
  let ref: ImageRef = { name };
  if (build) {
    const b = nested("docker.RemoteImage.build", build);
    ref = { name, build: { context: b.need("context"), dockerfile: b.take<string>("dockerfile") ?? "Dockerfile" } };
    b.done();
  }
  r.done();
  return ref;
}

export interface Upload {
  readonly file: string;
  readonly content: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface ContainerCreate {
  readonly name: string;
  /** The image reference (a RemoteImage's imageId, resolved by the caller). */
  readonly imageId: string;
  readonly body: Record<string, unknown>;
  readonly uploads: readonly Upload[];
  /** Networks to attach; the first one is given at create time, the rest are connected after. */
  readonly networks: readonly { readonly name: string; readonly aliases: readonly string[] }[];
}

function labelMap(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!Array.isArray(value)) throw new UnsupportedInput("labels: not a list");
  return Object.fromEntries(
    value.map((l, i) => {
      const r = nested(`labels[${i}]`, l);
      const entry = [r.need<string>("label"), r.need<string>("value")] as const;
      r.done();
      return entry;
    }),
  );
}

/** docker.Container inputs → POST /containers/create body, the uploads and networks to attach. */
export function containerCreate(inputs: Inputs): ContainerCreate {
  const r = new Reader("docker.Container", inputs);
  const name = r.need<string>("name");
  const imageId = r.need<string>("image");
  const host: Record<string, unknown> = {};
  const body: Record<string, unknown> = { HostConfig: host };

  const entrypoints = r.take<string[]>("entrypoints");
  if (entrypoints) body["Entrypoint"] = entrypoints;
  const command = r.take<string[]>("command");
  if (command) body["Cmd"] = command;
  body["Env"] = r.take<string[]>("envs") ?? [];
  const user = r.take<string>("user");
  if (user) body["User"] = user;
  const groupAdds = r.take<string[]>("groupAdds");
  if (groupAdds) host["GroupAdd"] = groupAdds;
  host["ReadonlyRootfs"] = r.take<boolean>("readOnly") ?? false;

  const caps = r.take<Inputs>("capabilities");
  if (caps) {
    const c = nested("capabilities", caps);
    host["CapAdd"] = c.take<string[]>("adds") ?? [];
    host["CapDrop"] = c.take<string[]>("drops") ?? [];
    c.done();
  }
  const securityOpts = r.take<string[]>("securityOpts");
  if (securityOpts) host["SecurityOpt"] = securityOpts;

  const deviceRequests = r.take<unknown[]>("deviceRequests");
  if (deviceRequests) {
    host["DeviceRequests"] = deviceRequests.map((d, i) => {
      const q = nested(`deviceRequests[${i}]`, d);
      const out = {
        Driver: q.take<string>("driver") ?? "",
        Count: q.take<number>("count") ?? 0,
        DeviceIDs: q.take<string[]>("deviceIds") ?? [],
        // The provider sends one capability set holding every listed capability.
        Capabilities: [q.take<string[]>("capabilities") ?? []],
        Options: q.take<Record<string, string>>("options") ?? {},
      };
      q.done();
      return out;
    });
  }
  const devices = r.take<unknown[]>("devices");
  if (devices) {
    host["Devices"] = devices.map((d, i) => {
      const q = nested(`devices[${i}]`, d);
      const hostPath = q.need<string>("hostPath");
      const out = { PathOnHost: hostPath, PathInContainer: q.take<string>("containerPath") ?? hostPath, CgroupPermissions: q.take<string>("permissions") ?? "rwm" };
      q.done();
      return out;
    });
  }
  const pidMode = r.take<string>("pidMode");
  if (pidMode) host["PidMode"] = pidMode;

  const networkMode = r.take<string>("networkMode");
  const networks = (r.take<unknown[]>("networksAdvanced") ?? []).map((n, i) => {
    const q = nested(`networksAdvanced[${i}]`, n);
    const out = { name: q.need<string>("name"), aliases: q.take<string[]>("aliases") ?? [] };
    q.done();
    return out;
  });
  if (networkMode) host["NetworkMode"] = networkMode;
  else if (networks[0]) {
    host["NetworkMode"] = networks[0].name;
    body["NetworkingConfig"] = { EndpointsConfig: { [networks[0].name]: { Aliases: networks[0].aliases } } };
  }

  const ports = r.take<unknown[]>("ports") ?? [];
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  ports.forEach((p, i) => {
    const q = nested(`ports[${i}]`, p);
    const key = `${q.need<number>("internal")}/${q.take<string>("protocol") ?? "tcp"}`;
    exposed[key] = {};
    const external = q.take<number>("external");
    (bindings[key] ??= []).push({ HostIp: q.take<string>("ip") ?? "0.0.0.0", HostPort: external === undefined ? "" : String(external) });
    q.done();
  });
  body["ExposedPorts"] = exposed;
  host["PortBindings"] = bindings;

  const hosts = r.take<unknown[]>("hosts");
  if (hosts) {
    host["ExtraHosts"] = hosts.map((h, i) => {
      const q = nested(`hosts[${i}]`, h);
      const out = `${q.need<string>("host")}:${q.need<string>("ip")}`;
      q.done();
      return out;
    });
  }

  const binds: string[] = [];
  (r.take<unknown[]>("volumes") ?? []).forEach((v, i) => {
    const q = nested(`volumes[${i}]`, v);
    const target = q.need<string>("containerPath");
    const readOnly = q.take<boolean>("readOnly") ?? false;
    const volumeName = q.take<string>("volumeName");
    const hostPath = q.take<string>("hostPath");
    q.done();
    if ((volumeName === undefined) === (hostPath === undefined)) throw new UnsupportedInput(`volumes[${i}]: exactly one of volumeName and hostPath`);
    // The provider's volumes become `Binds` (`source:target[:ro]`): a missing host path is created by the engine.
    binds.push(`${volumeName ?? hostPath}:${target}${readOnly ? ":ro" : ""}`);
  });
  host["Binds"] = binds;

  const uploads = (r.take<unknown[]>("uploads") ?? []).map((u, i): Upload => {
    const q = nested(`uploads[${i}]`, u);
    const file = q.need<string>("file");
    const content = q.need<string>("content");
    const permissions = q.take<string>("permissions");
    const owner = q.take<string>("owner");
    const group = q.take<string>("group");
    q.done();
    if (!/^\/./.test(file)) throw new UnsupportedInput(`uploads[${i}].file: not an absolute path: ${file}`);
    return { file, content, mode: permissions ? parseInt(permissions, 8) : 0o644, uid: owner ? Number(owner) : 0, gid: group ? Number(group) : 0 };
  });

  const health = r.take<Inputs>("healthcheck");
  if (health) {
    const h = nested("healthcheck", health);
    body["Healthcheck"] = {
      Test: h.need<string[]>("tests"),
      Interval: durationNs(h.take<string>("interval") ?? "0s"),
      Timeout: durationNs(h.take<string>("timeout") ?? "0s"),
      Retries: h.take<number>("retries") ?? 0,
      StartPeriod: durationNs(h.take<string>("startPeriod") ?? "0s"),
    };
    h.done();
  }
  const restart = r.take<string>("restart");
  if (restart) host["RestartPolicy"] = { Name: restart };
  const memory = r.take<number>("memory");
  if (memory !== undefined) host["Memory"] = memory * 1024 * 1024;
  const cpus = r.take<string>("cpus");
  if (cpus !== undefined) host["NanoCpus"] = Math.round(Number(cpus) * 1e9);
  body["Labels"] = labelMap(r.take("labels"));
  const logDriver = r.take<string>("logDriver");
  const logOpts = r.take<Record<string, string>>("logOpts");
  if (logDriver) host["LogConfig"] = { Type: logDriver, Config: logOpts ?? {} };
  r.done();
  return { name, imageId, body, uploads, networks };
}
