import { execFile, spawn } from "node:child_process";
import { copyFile, mkdir, readFile, symlink } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { imageBundleArgs, imageRuntime, type NodeRuntime } from "../test/support/dockerfile";

export type { NodeRuntime };

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..");

/** An exporter as the benchmark runs it: the image's bundle, the runtime the image gives it, and the events-scan harness. */
export interface ExporterBuild {
  readonly name: string;
  /** exporter/main.ts bundled by the Dockerfile's own esbuild command: the program the image runs. */
  readonly exporter: string;
  /** bench/events-scan.ts bundled: reads an events log once, for the scan rate. */
  readonly scanner: string;
  readonly runtime: NodeRuntime;
}

async function esbuild(sourceRoot: string, args: readonly string[]): Promise<void> {
  const bin = path.join(ROOT, "node_modules", ".bin", "esbuild");
  await new Promise<void>((resolve, reject) => {
    const p = spawn(bin, args, { cwd: sourceRoot, stdio: "inherit" });
    p.once("error", reject);
    p.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`esbuild exited with ${code}`))));
  });
}

/**
 * Bundles exporter/main.ts with exporter/Dockerfile's own esbuild command, so the process
 * measured is the program the image runs, started with the image's node flags and environment;
 * and bench/events-scan.ts, which reads an events log once, for the scan rate. `ref` builds
 * the exporter as a git commit had it (its sources and its Dockerfile, this checkout's
 * node_modules and scan harness), to measure a change side by side with what came before;
 * without it, the working tree.
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
    await copyFile(path.join(ROOT, "bench", "events-scan.ts"), path.join(sourceRoot, "bench", "events-scan.ts"));
  }
  const tag = ref === undefined ? "worktree" : ref.replace(/[^\w.-]/g, "_");
  const scanner = path.join(dir, `events-scan-${tag}.js`);
  await esbuild(sourceRoot, [path.join(sourceRoot, "bench", "events-scan.ts"), "--bundle", "--platform=node", "--target=node20", `--outfile=${scanner}`, "--log-level=warning"]);
  const dockerfile = await readFile(path.join(sourceRoot, "exporter", "Dockerfile"), "utf8");
  const exporter = path.join(dir, `exporter-${tag}`, "exporter.js");
  await mkdir(path.dirname(exporter));
  await esbuild(sourceRoot, imageBundleArgs(dockerfile, exporter));
  // The bundle reports package.json's version, read beside it as in the image.
  await copyFile(path.join(sourceRoot, "package.json"), path.join(path.dirname(exporter), "package.json"));
  return { name, exporter, scanner, runtime: imageRuntime(dockerfile) };
}
