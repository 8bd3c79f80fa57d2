import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfigFile, stackFilePath } from "../../components/config";
import { dockerReadOnlyRoot } from "../../components/platforms/docker";
import { serviceSpecs } from "../../components/services";
import type { ServiceSpec } from "../../components/spec";
import { Dockerd, engine } from "../exporter-ds01/support/dockerd";

const run = promisify(execFile);

/**
 * What the Docker provider does with `uploads`: one archive per file, the entry named by the
 * file's full path, extracted at `/` of the created (not yet started) container.
 */
async function providerStyleArchive(dir: string, file: string, content: string): Promise<Buffer> {
  const rel = file.replace(/^\//, "");
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), content);
  const { stdout } = await run("tar", ["-C", dir, "-cf", "-", rel], { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

describe("uploads against a real Docker engine", () => {
  let dockerd: Dockerd | undefined;
  let whyNot = "";
  let image = "";
  let work = "";
  const prometheus = serviceSpecs(loadStackConfigFile(stackFilePath("dev"))).find((s) => s.name === "prometheus") as ServiceSpec;

  beforeAll(async () => {
    const started = await Dockerd.start();
    if (typeof started === "string") {
      whyNot = started;
      return;
    }
    dockerd = started;
    image = await started.importImage("gm-upload-test", "1");
    work = await mkdtemp(path.join(tmpdir(), "gm-upload-"));
  }, 120_000);

  afterAll(async () => {
    await dockerd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }, 60_000);

  async function uploadAll(container: string, spec: ServiceSpec): Promise<number[]> {
    const statuses: number[] = [];
    for (const [i, f] of spec.configFiles.entries()) {
      const archive = await providerStyleArchive(path.join(work, `${container}-${i}`), f.path, f.content);
      statuses.push((await engine(dockerd!.socketPath, "PUT", `/containers/${container}/archive?path=/`, undefined, archive)).status);
    }
    return statuses;
  }

  it("accepts every Prometheus config file into the container the platform creates", async (ctx) => {
    if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
    expect(prometheus.configFiles.length).toBeGreaterThan(1);
    const readOnly = dockerReadOnlyRoot(prometheus);
    expect(readOnly).toBe(false);
    await dockerd!.create("gm-prometheus", { Image: image, HostConfig: { ReadonlyRootfs: readOnly } });
    expect(await uploadAll("gm-prometheus", prometheus)).toEqual(prometheus.configFiles.map(() => 200));
    // Read one back through the engine: the rules folder was created by the upload itself.
    const rule = prometheus.configFiles.find((f) => f.path.includes("/rules/"))!;
    const back = await engine(dockerd!.socketPath, "HEAD", `/containers/gm-prometheus/archive?path=${encodeURIComponent(rule.path)}`);
    expect(back.status).toBe(200);
  });

  it("refuses the same uploads into a read-only root, which is why such containers keep a writable one", async (ctx) => {
    if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
    await dockerd!.create("gm-prometheus-ro", {
      Image: image,
      HostConfig: { ReadonlyRootfs: true, Binds: ["gm-prometheus-config:/etc/prometheus"] },
    });
    const statuses = await uploadAll("gm-prometheus-ro", prometheus);
    expect(statuses.every((s) => s >= 400)).toBe(true);
  });
});
