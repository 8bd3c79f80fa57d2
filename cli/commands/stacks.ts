import { Command, Option } from "commander";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { CliError } from "../errors";
import type { CliIo } from "../io";
import { formatTable } from "../table";

/**
 * The stack-file key that opts a stack into `pulumi up` on the main branch. It lives outside the
 * project's namespace so the stack config schema (strict about its own keys) never sees it.
 */
export const AUTO_DEPLOY_KEY = "ci:autoDeploy";
/** Runner label(s) the stack's preview and deployment jobs run on, e.g. [self-hosted, gpu-host]. */
export const RUNS_ON_KEY = "ci:runsOn";
export const DEFAULT_RUNNER = "ubuntu-latest";

export interface StackEntry {
  readonly name: string;
  readonly file: string;
  readonly autoDeploy: boolean;
  readonly runsOn: string | readonly string[];
}

/** One matrix entry of the CI workflows. */
export interface StackMatrixEntry {
  readonly stack: string;
  readonly autoDeploy: boolean;
  /** Always a list of runner labels (`runs-on` takes one), whether the stack file gave one label or several. */
  readonly runsOn: readonly string[];
  /** True on a self-hosted runner, which can reach the loopback URLs of a stack deployed to its own host. */
  readonly selfHosted: boolean;
}

function runsOnFrom(value: unknown, file: string): string | readonly string[] {
  if (value === undefined) return DEFAULT_RUNNER;
  if (typeof value === "string" && value !== "") return value;
  if (Array.isArray(value) && value.length > 0 && value.every((v): v is string => typeof v === "string" && v !== "")) return value;
  throw new CliError(`${file}: ${RUNS_ON_KEY} must be a runner label or a list of labels`, `e.g. ${RUNS_ON_KEY}: [self-hosted, gpu-host]`);
}

export function matrixEntry(s: StackEntry): StackMatrixEntry {
  const labels = typeof s.runsOn === "string" ? [s.runsOn] : s.runsOn;
  return { stack: s.name, autoDeploy: s.autoDeploy, runsOn: labels, selfHosted: labels.includes("self-hosted") };
}

const STACK_FILE = /^Pulumi\.([A-Za-z0-9_.-]+)\.ya?ml$/;

/** Every stack file in `dir`, sorted by stack name. */
export async function listStacks(dir: string): Promise<StackEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new CliError(`cannot read the stack directory ${dir}`, "run from the project root, or pass --dir with the folder holding Pulumi.<stack>.yaml files");
  }
  const out: StackEntry[] = [];
  for (const fileName of names.sort()) {
    const m = STACK_FILE.exec(fileName);
    if (!m?.[1]) continue;
    const file = join(dir, fileName);
    let doc: unknown;
    try {
      doc = parseYaml(await readFile(file, "utf8"));
    } catch (err: unknown) {
      throw new CliError(`${file} is not valid YAML: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`, "fix the stack file");
    }
    const config = typeof doc === "object" && doc !== null && "config" in doc ? (doc as { config: unknown }).config : undefined;
    const values: Record<string, unknown> = typeof config === "object" && config !== null ? (config as Record<string, unknown>) : {};
    const flag = values[AUTO_DEPLOY_KEY];
    out.push({ name: m[1], file, autoDeploy: flag === true || flag === "true", runsOn: runsOnFrom(values[RUNS_ON_KEY], file) });
  }
  return out;
}

interface StacksFlags {
  dir: string;
  autoDeploy?: boolean;
  output: "table" | "json";
}

export function stacksCommand(io: CliIo): Command {
  return new Command("stacks")
    .description(
      `List the project's stacks, which deploy on pushes to main (${AUTO_DEPLOY_KEY}: true in the stack file) and the runner they use (${RUNS_ON_KEY}); the CI workflows build their matrix from it`,
    )
    .option("--dir <dir>", "folder holding the Pulumi.<stack>.yaml files", "stacks")
    .option("--auto-deploy", "only the stacks marked for automatic deployment")
    .addOption(new Option("-o, --output <format>", "table, or json: a one-line array of {stack, autoDeploy, runsOn, selfHosted} (a CI matrix)").choices(["table", "json"]).default("table"))
    .addHelpText(
      "after",
      `\nExamples:\n  gpu-monitoring stacks\n  gpu-monitoring stacks -o json   # [{"stack":"dev","autoDeploy":false,"runsOn":["ubuntu-latest"],"selfHosted":false},...]\n  gpu-monitoring stacks --auto-deploy -o json   # [] until a stack file sets ${AUTO_DEPLOY_KEY}: true\n`,
    )
    .action(async (flags: StacksFlags) => {
      const all = await listStacks(resolve(io.cwd, flags.dir));
      const stacks = flags.autoDeploy ? all.filter((s) => s.autoDeploy) : all;
      if (flags.output === "json") {
        io.stdout.write(`${JSON.stringify(stacks.map(matrixEntry))}\n`);
        return;
      }
      io.stdout.write(
        formatTable(
          ["STACK", "AUTO-DEPLOY", "RUNS-ON", "FILE"],
          stacks.map((s) => [s.name, s.autoDeploy ? "yes" : "no", typeof s.runsOn === "string" ? s.runsOn : s.runsOn.join(","), relative(io.cwd, s.file)]),
        ),
      );
    });
}
