import { resolve } from "node:path";
import { CliError } from "../errors";
import type { CliIo } from "../io";
import { exportRevisions } from "./baseRevision";
import { exportsIn, readExport } from "./exportDirs";
import { countChanges, type DiffReport, type StackDiff } from "./model";
import { renderJson } from "./render/json";
import { renderMarkdown } from "./render/markdown";
import { renderText } from "./render/text";
import { diffStack } from "./stackDiff";

export type DiffFormat = "markdown" | "text" | "json";

export interface DiffFlags {
  base?: string;
  stack?: string;
  output: DiffFormat;
  maxBytes: string;
}

async function diffFolders(before: Map<string, string>, after: Map<string, string>, only: string | undefined): Promise<StackDiff[]> {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort().filter((s) => only === undefined || s === only);
  const none = new Map<string, string>();
  const stacks: StackDiff[] = [];
  for (const stack of names) {
    const [b, a] = [before.get(stack), after.get(stack)];
    stacks.push({ stack, changes: diffStack(b ? await readExport(b) : none, a ? await readExport(a) : none) });
  }
  return stacks;
}

async function compareDirs(io: CliIo, dirs: readonly string[], stack: string | undefined): Promise<StackDiff[]> {
  const [beforeDir, afterDir] = dirs.map((d) => resolve(io.cwd, d));
  if (!beforeDir || !afterDir || dirs.length !== 2) {
    throw new CliError("give two export directories, or --base <git-ref>", "e.g. gpu-monitoring diff old-export new-export, or gpu-monitoring diff --base origin/main");
  }
  const [before, after] = [await exportsIn(beforeDir, stack, "before"), await exportsIn(afterDir, stack, "after")];
  const single = (m: Map<string, string>, dir: string) => m.size === 1 && [...m.values()][0] === dir;
  if (single(before, beforeDir) && single(after, afterDir)) {
    // Two single exports are one stack, whatever their guides call it.
    const name = stack ?? [...after.keys()][0] ?? "export";
    return diffFolders(new Map([[name, beforeDir]]), new Map([[name, afterDir]]), undefined);
  }
  if (single(before, beforeDir) !== single(after, afterDir)) {
    throw new CliError("one directory is a single export and the other holds one export per stack", "compare like with like");
  }
  if (stack && !before.has(stack) && !after.has(stack)) {
    throw new CliError(`neither directory has an export of stack ${stack}`, `choose one of: ${[...new Set([...before.keys(), ...after.keys()])].join(", ")}`);
  }
  return diffFolders(before, after, stack);
}

async function compareRevisions(io: CliIo, base: string, stack: string | undefined): Promise<{ stacks: StackDiff[]; notes: string[] }> {
  const revisions = await exportRevisions(io.cwd, base, stack);
  try {
    const listed = async (dir: string) => exportsIn(dir, undefined, "").catch(() => new Map<string, string>());
    return { stacks: await diffFolders(await listed(revisions.before), await listed(revisions.after), stack), notes: revisions.notes };
  } finally {
    await revisions.cleanup();
  }
}

/**
 * The `diff` command's work. Returns the exit code: 0 no changes, 1 changes, 2 an error (printed).
 * With no changes nothing is printed.
 */
export async function runDiff(io: CliIo, dirs: readonly string[], flags: DiffFlags): Promise<number> {
  const format = flags.output;
  const maxBytes = Number(flags.maxBytes);
  if (!Number.isInteger(maxBytes) || maxBytes < 1000) throw new CliError(`--max-bytes "${flags.maxBytes}" is not a whole number of at least 1000`, "e.g. --max-bytes 60000");
  let report: DiffReport;
  if (flags.base !== undefined) {
    if (dirs.length > 0) throw new CliError("--base compares the working tree with a revision; give no directories with it", "drop the directories, or drop --base");
    const { stacks, notes } = await compareRevisions(io, flags.base, flags.stack);
    report = { stacks, notes };
  } else {
    report = { stacks: await compareDirs(io, dirs, flags.stack), notes: [] };
  }
  for (const note of report.notes) io.stderr.write(`note: ${note}\n`);
  const changes = countChanges(report);
  if (changes === 0) return 0;
  io.stdout.write(format === "json" ? renderJson(report) : format === "text" ? renderText(report) : renderMarkdown(report, maxBytes));
  return 1;
}
