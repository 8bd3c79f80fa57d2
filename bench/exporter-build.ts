import { execFile, spawn } from "node:child_process";
import { mkdir, readFile, symlink } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { dockerfileInstructions } from "../test/support/dockerfile";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..");

/** How the exporter's image starts node: the ENTRYPOINT's node flags and the final stage's ENV. */
export interface NodeRuntime {
  readonly flags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** An exporter as the benchmark runs it: one bundled file and the runtime the image gives it. */
export interface ExporterBuild {
  readonly name: string;
  readonly bundle: string;
  readonly runtime: NodeRuntime;
}

/** `ENV A=1 B="two words"` as pairs; the legacy `ENV A 1` form too. */
function envPairs(args: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  if (!args.includes("=")) {
    const [key, ...rest] = args.split(/\s+/);
    return key ? [[key, rest.join(" ")]] : [];
  }
  for (const m of args.matchAll(re)) pairs.push([m[1]!, m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!]);
  return pairs;
}

/** The node flags and environment the final stage of exporter/Dockerfile starts the exporter with. */
export function imageRuntime(dockerfile: string): NodeRuntime {
  const lines = dockerfileInstructions(dockerfile);
  const lastFrom = lines.map((l) => l.startsWith("FROM ")).lastIndexOf(true);
  const final = lines.slice(lastFrom);
  const entry = final.find((l) => l.startsWith("ENTRYPOINT "));
  if (!entry) throw new Error("exporter/Dockerfile: no ENTRYPOINT in the final stage");
  const argv = JSON.parse(entry.slice("ENTRYPOINT ".length)) as string[];
  if (argv[0] !== "node") throw new Error(`exporter/Dockerfile: ENTRYPOINT starts ${argv[0]}, not node`);
  const flags: string[] = [];
  for (const arg of argv.slice(1)) {
    if (!arg.startsWith("-")) break;
    flags.push(arg);
  }
  const env: Record<string, string> = {};
  for (const line of final.filter((l) => l.startsWith("ENV "))) for (const [k, v] of envPairs(line.slice(4).trim())) env[k] = v;
  return { flags, env };
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
 * had it (its sources and its Dockerfile, this checkout's node_modules), to measure a change
 * side by side with what came before; without it, the working tree.
 */
export async function buildExporter(dir: string, ref?: string): Promise<ExporterBuild> {
  let sourceRoot = ROOT;
  const name = ref ?? "working tree";
  if (ref !== undefined) {
    sourceRoot = path.join(dir, `src-${ref.replace(/[^\w.-]/g, "_")}`);
    await mkdir(sourceRoot, { recursive: true });
    const { stdout: archive } = await run("git", ["-C", ROOT, "archive", "--format=tar", ref, "bench", "exporter", "metrics", "cli", "package.json", "tsconfig.json"], {
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
  }
  const bundle = path.join(dir, `exporter-child-${ref === undefined ? "worktree" : ref.replace(/[^\w.-]/g, "_")}.js`);
  await esbuild(sourceRoot, bundle);
  const runtime = imageRuntime(await readFile(path.join(sourceRoot, "exporter", "Dockerfile"), "utf8"));
  return { name, bundle, runtime };
}
