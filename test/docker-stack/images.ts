import { execFile } from "node:child_process";
import { chmod, chown, copyFile, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { engine } from "../exporter-ds01/support/dockerd";
import { REPO_ROOT } from "../support/pulumi-program";
import { imageBundleArgs } from "../support/dockerfile";

const run = promisify(execFile);

/**
 * Stand-in images for a Docker engine that cannot pull: each is a rootfs made from this machine's
 * binaries (Debian's packages), laid out like the official image and imported under the official
 * name and tag, with the official image's entrypoint, default command, user, workdir and volumes.
 * Where an official image differs, STAND_INS says so.
 */

const NOBODY = 65534;
const BUSYBOX = "/bin/busybox";
/** busybox applets the images' shells and health checks use (the official Prometheus-family images are busybox-based). */
const APPLETS = ["sh", "wget", "cat", "ls", "id", "sleep", "test", "[", "true", "false", "env", "mkdir", "echo", "stat", "head", "grep", "ps"];

export interface StandIn {
  /** The official image reference the stack pins (what the container's image input names). */
  readonly image: string;
  /** The official Dockerfile this layout follows. */
  readonly follows: string;
  /** Where the stand-in differs from the official image. */
  readonly differs: string;
  /** Host binaries copied in (with the libraries ldd lists): host path → image path. */
  readonly binaries: Readonly<Record<string, string>>;
  /** Host data files copied to the same path (a Debian build's runtime files). */
  readonly hostFiles?: readonly string[];
  /** Directories created, with their owner uid:gid. */
  readonly dirs?: Readonly<Record<string, number>>;
  /** Files written: image path → content. */
  readonly files?: Readonly<Record<string, string>>;
  /** Extra /etc/passwd lines (root and nobody are always there). */
  readonly users?: readonly string[];
  /** Dockerfile instructions applied on import (ENTRYPOINT, CMD, USER, WORKDIR, EXPOSE, VOLUME, ENV). */
  readonly changes: readonly string[];
  /** True when the service's own binary is not available here: the container is created, never started. */
  readonly noBinary?: boolean;
}

const NOT_RUN = '#!/bin/sh\necho "not run: no binary for this image in the test engine" >&2\nexit 1\n';

/** The fake `nvidia-smi -L` of an A100 host with MIG on GPU 1 (see test/support/fake-nvidia-smi.ts). */
export function fakeNvidiaSmiScript(output: string): string {
  return `#!/bin/sh\n[ "$1" = "-L" ] || exit 2\ncat <<'EOF'\n${output.trimEnd()}\nEOF\n`;
}

export function standIns(images: Readonly<Record<string, string>>, nvidiaSmiOutput: string): Record<string, StandIn> {
  return {
    prometheus: {
      image: images["prometheus"]!,
      follows: "prometheus/prometheus Dockerfile (busybox base)",
      differs: "Debian's Prometheus 2.42 in place of the pinned 3.x; console templates left out (3.x has none)",
      binaries: { "/usr/bin/prometheus": "/bin/prometheus", "/usr/bin/promtool": "/bin/promtool" },
      dirs: { "/etc/prometheus": NOBODY, "/prometheus": NOBODY, "/usr/share/prometheus": 0 },
      files: { "/etc/prometheus/prometheus.yml": "global:\n  scrape_interval: 15s\n" },
      changes: [
        "USER nobody",
        "EXPOSE 9090",
        'VOLUME ["/prometheus"]',
        "WORKDIR /prometheus",
        'ENTRYPOINT ["/bin/prometheus"]',
        'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]',
      ],
    },
    alertmanager: {
      image: images["alertmanager"]!,
      follows: "prometheus/alertmanager Dockerfile at v0.28 (busybox base)",
      differs: "Debian's Alertmanager 0.25 in place of the pinned 0.28; Debian's build reads its default notification template from /usr/share/prometheus/alertmanager (upstream embeds it)",
      binaries: { "/usr/bin/prometheus-alertmanager": "/bin/alertmanager", "/usr/bin/amtool": "/bin/amtool" },
      hostFiles: ["/usr/share/prometheus/alertmanager/default.tmpl", "/usr/share/prometheus/alertmanager/email.tmpl"],
      dirs: { "/etc/alertmanager": NOBODY, "/alertmanager": NOBODY },
      files: { "/etc/alertmanager/alertmanager.yml": "route:\n  receiver: none\nreceivers:\n  - name: none\n" },
      changes: [
        "USER nobody",
        "EXPOSE 9093",
        'VOLUME ["/alertmanager"]',
        "WORKDIR /alertmanager",
        'ENTRYPOINT ["/bin/alertmanager"]',
        'CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]',
      ],
    },
    nodeExporter: {
      image: images["nodeExporter"]!,
      follows: "prometheus/node_exporter Dockerfile (busybox glibc base)",
      differs: "Debian's node-exporter 1.5 in place of the pinned 1.9",
      binaries: { "/usr/bin/prometheus-node-exporter": "/bin/node_exporter" },
      changes: ["USER nobody", "EXPOSE 9100", 'ENTRYPOINT ["/bin/node_exporter"]'],
    },
    exporterBase: {
      image: "node:20-slim",
      follows: "the official node:20-slim layout (node in /usr/local/bin, user node 1000)",
      differs:
        "this machine's node and the libraries it links, busybox for /bin/sh, and a stand-in nvidia-smi in /usr/bin where the NVIDIA toolkit's utility capability would put the real one",
      binaries: { [process.execPath]: "/usr/local/bin/node" },
      dirs: { "/home/node": 1000 },
      files: { "/usr/bin/nvidia-smi": fakeNvidiaSmiScript(nvidiaSmiOutput) },
      users: ["node:x:1000:1000::/home/node:/bin/sh"],
      changes: ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ENV NODE_VERSION=20", 'CMD ["node"]'],
    },
    grafana: {
      image: images["grafana"]!,
      follows: "grafana/grafana-oss (user grafana 472, group root, /etc/grafana, /var/lib/grafana)",
      differs: "no Grafana binary: the entrypoint only says so",
      binaries: {},
      dirs: { "/etc/grafana": 472, "/var/lib/grafana": 472, "/usr/share/grafana": 0 },
      files: { "/run.sh": NOT_RUN },
      users: ["grafana:x:472:0::/home/grafana:/sbin/nologin"],
      changes: ["USER 472", "EXPOSE 3000", "WORKDIR /usr/share/grafana", 'ENTRYPOINT ["/run.sh"]'],
      noBinary: true,
    },
    dcgmExporter: {
      image: images["dcgmExporter"]!,
      follows: "NVIDIA dcgm-exporter (root, counter lists in /etc/dcgm-exporter)",
      differs: "no DCGM or GPU: the entrypoint only says so",
      binaries: {},
      dirs: { "/etc/dcgm-exporter": 0 },
      files: { "/usr/local/dcgm/dcgm-exporter-entrypoint.sh": NOT_RUN, "/etc/dcgm-exporter/dcp-metrics-included.csv": "DCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %).\n" },
      changes: ["EXPOSE 9400", 'ENTRYPOINT ["/usr/local/dcgm/dcgm-exporter-entrypoint.sh"]'],
      noBinary: true,
    },
    cadvisor: {
      image: images["cadvisor"]!,
      follows: "google/cadvisor (root)",
      differs: "no cAdvisor binary: the entrypoint only says so",
      binaries: {},
      files: { "/usr/bin/cadvisor": NOT_RUN },
      changes: ["EXPOSE 8080", 'ENTRYPOINT ["/usr/bin/cadvisor", "-logtostderr"]'],
      noBinary: true,
    },
  };
}

/** Shared libraries a dynamic binary needs, from ldd (none for a static one). */
async function libraries(binary: string): Promise<string[]> {
  const { stdout } = await run("ldd", [binary]).catch(() => ({ stdout: "" }));
  return [...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

async function placeFile(root: string, from: string, to: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, to)), { recursive: true });
  await copyFile(from, path.join(root, to));
  await chmod(path.join(root, to), 0o755);
}

/** Lays out a stand-in's rootfs under `root`, imports it as its image; returns the image reference. */
export async function importStandIn(socketPath: string, root: string, s: StandIn): Promise<string> {
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true, mode: 0o755 });
  await chmod(root, 0o755);
  for (const d of ["bin", "etc", "tmp", "usr/bin", "lib", "lib64", "var"]) await mkdir(path.join(root, d), { recursive: true });
  await chmod(path.join(root, "tmp"), 0o1777);
  await placeFile(root, BUSYBOX, "/bin/busybox");
  for (const lib of await libraries(BUSYBOX)) await placeFile(root, lib, lib);
  for (const applet of APPLETS) await symlink("busybox", path.join(root, "bin", applet));
  for (const [from, to] of Object.entries(s.binaries)) {
    await placeFile(root, from, to);
    for (const lib of await libraries(from)) await placeFile(root, lib, lib);
  }
  for (const file of s.hostFiles ?? []) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await copyFile(file, path.join(root, file));
  }
  for (const [dir, uid] of Object.entries(s.dirs ?? {})) {
    await mkdir(path.join(root, dir), { recursive: true });
    await chown(path.join(root, dir), uid, uid === 472 ? 0 : uid);
  }
  for (const [file, content] of Object.entries(s.files ?? {})) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content, { mode: content.startsWith("#!") ? 0o755 : 0o644 });
  }
  await writeFile(path.join(root, "etc/passwd"), ["root:x:0:0:root:/root:/bin/sh", ...(s.users ?? []), "nobody:x:65534:65534:nobody:/home:/bin/false", ""].join("\n"));
  await writeFile(path.join(root, "etc/group"), ["root:x:0:", "nobody:x:65534:", ...(s.users ?? []).map((u) => `${u.split(":")[0]}:x:${u.split(":")[3]}:`), ""].join("\n"));
  const { stdout } = await run("tar", ["--numeric-owner", "-C", root, "-cf", "-", "."], { encoding: "buffer", maxBuffer: 1024 * 1024 * 1024 });
  await rm(root, { recursive: true, force: true });
  const colon = s.image.lastIndexOf(":");
  const query = new URLSearchParams({ fromSrc: "-", repo: s.image.slice(0, colon), tag: s.image.slice(colon + 1) });
  for (const c of s.changes) query.append("changes", c);
  const reply = await engine(socketPath, "POST", `/images/create?${query.toString()}`, undefined, stdout, 180_000);
  if (reply.status !== 200 || JSON.stringify(reply.body).includes("errorDetail")) throw new Error(`import of ${s.image} failed: ${JSON.stringify(reply.body)}`);
  return s.image;
}

/**
 * Builds our exporter image from exporter/Dockerfile in the engine (its legacy builder, through
 * POST /build). The build stage's `npm ci` needs the registry, which a test engine cannot reach,
 * so that stage's esbuild command runs here on the host, unchanged, and the stage becomes
 * `FROM scratch AS build` holding its output; the final stage is the Dockerfile's own, verbatim,
 * on the stand-in node:20-slim.
 */
export async function buildExporterImage(socketPath: string, work: string, tag: string, context: string, dockerfile: string): Promise<string> {
  const text = await readFile(path.join(context, dockerfile), "utf8");
  const dir = path.join(work, "exporter-context");
  await mkdir(path.join(dir, "out"), { recursive: true });
  await run(path.join(REPO_ROOT, "node_modules", ".bin", "esbuild"), imageBundleArgs(text, path.join(dir, "out", "exporter.js")), { cwd: context });
  await copyFile(path.join(context, "package.json"), path.join(dir, "out", "package.json"));
  const stages = text.split(/^(?=FROM )/m);
  const finalStages = stages.filter((s, i) => i > 0 && !/^FROM \S+ AS build\b/.test(s) && s.startsWith("FROM "));
  if (!/^FROM \S+ AS build\b/.test(stages.find((s) => s.startsWith("FROM ")) ?? "")) throw new Error(`${dockerfile}: the first stage is not 'AS build'`);
  await writeFile(path.join(dir, "Dockerfile"), ["FROM scratch AS build", "COPY out/ /out/", "", ...finalStages].join("\n"));
  const { stdout } = await run("tar", ["-C", dir, "-cf", "-", "."], { encoding: "buffer", maxBuffer: 512 * 1024 * 1024 });
  const reply = await engine(socketPath, "POST", `/build?t=${encodeURIComponent(tag)}&rm=1&forcerm=1`, undefined, stdout, 180_000);
  const out = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  if (reply.status !== 200 || out.includes("errorDetail")) throw new Error(`exporter image build failed: ${out.slice(-2000)}`);
  await rm(dir, { recursive: true, force: true });
  return tag;
}
