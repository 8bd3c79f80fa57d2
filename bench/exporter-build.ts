import { execFile, spawn } from "node:child_process";
import { copyFile, mkdir, readFile, symlink } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { imageRuntime, type NodeRuntime } from "../test/support/dockerfile";

export type { NodeRuntime };

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..");

/** An exporter as the benchmark runs it: one bundled file and the runtime the image gives it. */
export interface ExporterBuild {
  readonly name: string;
  readonly bundle: string;
  readonly runtime: NodeRuntime;
}

async function esbuild(sourceRoot: string, outfile: string): Promise<void> {
  const bin = path.join(ROOT, "node_modules", ".bin", "esbuild");
  await new Promise<void>((resolve, reject) => {
    const p = spawn(bin, [path.join(sourceRoot, "bench", "exporter-child.ts"), "--bundle", "--platform=node", "--target=node20", `--outfile=${outfile}`, "--log-level=warning"], {
      stdio: "inherit",
    });
    p.once("error", reject);
    p.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`esbuild exited with ${code}`))));
  });
}

/**
 * Bundles bench/exporter-child.ts with esbuild, as exporter/Dockerfile bundles the exporter, so
 * the process measured is plain node running one file, with no TypeScript loader in it; started
 * with the node flags and environment of the image. `ref` builds the exporter as a git commit
 * had it (its sources and its Dockerfile, this checkout's node_modules and measuring harness,
 * bench/exporter-child.ts), to measure a change side by side with what came before; without it,
 * the working tree.
 */
export async function buildExporter(dir: string, ref?: string): Promise<ExporterBuild> {
  let sourceRoot = ROOT;
  const name = ref ?? "working tree";
  if (ref !== undefined) {
    sourceRoot = path.join(dir, `src-${ref.replace(/[^\w.-]/g, "_")}`);
    await mkdir(sourceRoot, { recursive: true });
    const { stdout: archive } = await run("git", ["-C", ROOT, "archive", "--format=tar", ref, "exporter", "metrics", "cli", "package.json", "tsconfig.json"], {
      encoding: "buffer",
      maxBuffer: 256 * 1024 * 1024,
    });
    await new Promise<void>((resolve, reject) => {
      const tar = spawn("tar", ["-x", "-C", sourceRoot], { stdio: ["pipe", "inherit", "inherit"] });
      tar.once("error", reject);
      tar.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`))));
      tar.stdin!.end(archive);
    });
    await symlink(path.join(ROOT, "node_modules"), path.join(sourceRoot, "node_modules"));
    await mkdir(path.join(sourceRoot, "bench"));
    await copyFile(path.join(ROOT, "bench", "exporter-child.ts"), path.join(sourceRoot, "bench", "exporter-child.ts"));
  }
  const bundle = path.join(dir, `exporter-child-${ref === undefined ? "worktree" : ref.replace(/[^\w.-]/g, "_")}.js`);
  await esbuild(sourceRoot, bundle);
  const runtime = imageRuntime(await readFile(path.join(sourceRoot, "exporter", "Dockerfile"), "utf8"));
  return { name, bundle, runtime };
}
