import { execFile } from "node:child_process";
import { chmod, chown, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { engine } from "../exporter-ds01/support/dockerd";
import { CONTAINER, NETWORK, REMOTE_IMAGE, VOLUME, type StackRun } from "../stack/harness";
import { buildExporterImage } from "./images";
import { containerCreate, networkCreate, remoteImage, volumeCreate, type ContainerCreate, type Upload } from "./translate";

const run = promisify(execFile);

/** What was created in the engine for one of the program's containers. */
export interface CreatedContainer {
  readonly name: string;
  readonly id: string;
  readonly create: ContainerCreate;
  /** The image reference it runs (the RemoteImage's name). */
  readonly image: string;
  readonly started: boolean;
}

export interface DeployOptions {
  readonly socketPath: string;
  /** Scratch space for upload archives and the exporter's build context. */
  readonly work: string;
  /** Whether a container is started after it is created (false: no binary for its image here). */
  readonly start: (container: ContainerCreate, image: string) => boolean;
  /** Changes to a container's uploads before it is created (a config change); default none. */
  readonly uploads?: (container: ContainerCreate) => readonly Upload[];
}

export async function call(socketPath: string, method: string, url: string, body?: unknown, raw?: Buffer, ok: readonly number[] = [200, 201, 204]): Promise<unknown> {
  const reply = await engine(socketPath, method, url, body, raw);
  if (!ok.includes(reply.status)) throw new Error(`${method} ${url}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/**
 * One upload the way the provider sends it: an archive holding the one file under its full path,
 * extracted at `/` of the created container, with the upload's mode and owner.
 */
async function uploadArchive(dir: string, upload: Upload): Promise<Buffer> {
  const rel = upload.file.replace(/^\//, "");
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), upload.content);
  await chmod(path.join(dir, rel), upload.mode);
  await chown(path.join(dir, rel), upload.uid, upload.gid);
  const { stdout } = await run("tar", ["--numeric-owner", "-C", dir, "-cf", "-", rel], { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 });
  await rm(dir, { recursive: true, force: true });
  return stdout;
}

/** Creates (and, where it can run, starts) one container from its translated inputs. */
export async function createContainer(opts: DeployOptions, c: ContainerCreate, image: string): Promise<CreatedContainer> {
  const body = { ...c.body, Image: image };
  const created = (await call(opts.socketPath, "POST", `/containers/create?name=${encodeURIComponent(c.name)}`, body)) as { Id: string };
  const uploads = opts.uploads ? opts.uploads(c) : c.uploads;
  for (const [i, u] of uploads.entries()) {
    const archive = await uploadArchive(path.join(opts.work, `upload-${c.name}-${i}`), u);
    await call(opts.socketPath, "PUT", `/containers/${created.Id}/archive?path=/`, undefined, archive);
  }
  for (const n of c.networks.slice(1)) await call(opts.socketPath, "POST", `/networks/${encodeURIComponent(n.name)}/connect`, { Container: created.Id, EndpointConfig: { Aliases: n.aliases } });
  const started = opts.start(c, image);
  if (started) await call(opts.socketPath, "POST", `/containers/${created.Id}/start`);
  return { name: c.name, id: created.Id, create: { ...c, uploads }, image, started };
}

/**
 * Creates in the engine what the program declared under the mocks, in the order the provider
 * would: networks, volumes, images, then containers (created, files uploaded, started).
 */
export async function deployStack(run: StackRun, opts: DeployOptions): Promise<CreatedContainer[]> {
  for (const r of run.resources.filter((x) => x.type === NETWORK)) await call(opts.socketPath, "POST", "/networks/create", networkCreate(r.inputs));
  for (const r of run.resources.filter((x) => x.type === VOLUME)) await call(opts.socketPath, "POST", "/volumes/create", volumeCreate(r.inputs));
  // The mocks answer a RemoteImage with imageId `sha256:<resource name>`; containers name their image by it.
  const images = new Map<string, string>();
  for (const r of run.resources.filter((x) => x.type === REMOTE_IMAGE)) {
    const ref = remoteImage(r.inputs);
    if (ref.build) await buildExporterImage(opts.socketPath, opts.work, ref.name, ref.build.context, ref.build.dockerfile);
    else await call(opts.socketPath, "GET", `/images/${encodeURIComponent(ref.name)}/json`);
    images.set(`sha256:${r.name}`, ref.name);
  }
  const out: CreatedContainer[] = [];
  for (const r of run.resources.filter((x) => x.type === CONTAINER)) {
    const c = containerCreate(r.inputs);
    const image = images.get(c.imageId);
    if (!image) throw new Error(`${c.name}: image ${c.imageId} is no RemoteImage of the program`);
    out.push(await createContainer(opts, c, image));
  }
  return out;
}

/** Stops (gracefully, as a replacement does) and removes a container. */
export async function removeContainer(socketPath: string, id: string): Promise<void> {
  await call(socketPath, "POST", `/containers/${id}/stop?t=20`, undefined, undefined, [204, 304, 404]);
  await call(socketPath, "DELETE", `/containers/${id}?force=1`, undefined, undefined, [204, 404]);
}
