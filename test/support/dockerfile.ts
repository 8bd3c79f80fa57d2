/** Instructions of a Dockerfile with continuation lines joined and comments dropped. */
export function dockerfileInstructions(text: string): string[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** How the exporter's image starts node: the ENTRYPOINT's node flags and the final stage's ENV. */
export interface NodeRuntime {
  readonly flags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
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

/**
 * The esbuild arguments exporter/Dockerfile's build stage bundles the exporter with (after
 * `esbuild`), its `--outfile` replaced by `outfile`: the bundle the image runs, built here.
 */
export function imageBundleArgs(dockerfile: string, outfile: string): string[] {
  const build = dockerfileInstructions(dockerfile).find((l) => l.includes("node_modules/.bin/esbuild"));
  if (!build) throw new Error("exporter/Dockerfile: no esbuild command");
  const args = build.replace(/^RUN\s+/, "").split("&&")[0]!.trim().split(/\s+/).slice(1);
  return args.map((a) => (a.startsWith("--outfile=") ? `--outfile=${outfile}` : a));
}
