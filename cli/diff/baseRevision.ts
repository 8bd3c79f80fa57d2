import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CliError } from "../errors";

/**
 * `diff --base REF`: both sides exported by their own revision's code. The base is checked out in
 * a temporary `git worktree` that borrows the current node_modules (so nothing is installed), and
 * that worktree is always removed.
 */

const run = promisify(execFile);
const STACK_FILE = /^Pulumi\.([A-Za-z0-9_.-]+)\.ya?ml$/;
const BIN = join("bin", "gpu-monitoring.cjs");
/** Exports running at once: each is one Node process, mostly compiling TypeScript. */
const PARALLEL = 2;

async function git(cwd: string, args: readonly string[]): Promise<string> {
  return (await run("git", [...args], { cwd, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

async function stacksIn(dir: string): Promise<string[]> {
  const names = await readdir(join(dir, "stacks")).catch(() => [] as string[]);
  return names.map((n) => STACK_FILE.exec(n)?.[1]).filter((n): n is string => n !== undefined).sort();
}

/** Runs each task, at most `limit` at a time. */
async function inParallel(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  const queue = [...tasks];
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let t = queue.shift(); t; t = queue.shift()) await t();
  }));
}

async function exportStack(checkout: string, stack: string, out: string, revision: string): Promise<void> {
  try {
    await run(process.execPath, [join(checkout, BIN), "export", "--stack", stack, "--out", out, "--quiet"], { cwd: checkout, maxBuffer: 16 * 1024 * 1024 });
  } catch (err: unknown) {
    const stderr = (err as { stderr?: string }).stderr?.trim() ?? (err instanceof Error ? err.message : String(err));
    throw new CliError(`cannot export stack ${stack} at ${revision}:\n${stderr}`, "fix the stack there, or choose another --base or --stack");
  }
}

export interface RevisionExports {
  /** Folder holding one export folder per stack, for each side. */
  readonly before: string;
  readonly after: string;
  readonly notes: string[];
  readonly cleanup: () => Promise<void>;
}

/** Exports the stacks (one, or every stack of either side) at `ref` and in the working tree of the repository at `cwd`. */
export async function exportRevisions(cwd: string, ref: string, stack: string | undefined): Promise<RevisionExports> {
  const root = (await git(cwd, ["rev-parse", "--show-toplevel"]).catch(() => {
    throw new CliError(`${cwd} is not in a git repository`, "run `diff --base` inside the project's checkout, or compare two export directories");
  })).trim();
  const sha = (await git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).catch(() => {
    throw new CliError(`--base ${ref} is not a commit of ${root}`, "give a branch, tag or commit (e.g. origin/main, HEAD~1); fetch it first if it is remote");
  })).trim();
  const tmp = await mkdtemp(join(tmpdir(), "gpu-monitoring-diff-"));
  const checkout = join(tmp, "base");
  let added = false;
  const cleanup = async () => {
    if (added) await git(root, ["worktree", "remove", "--force", checkout]).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    if (added) await git(root, ["worktree", "prune"]).catch(() => undefined);
  };
  try {
    await git(root, ["worktree", "add", "--detach", "--quiet", checkout, sha]);
    added = true;
    await symlink(join(root, "node_modules"), join(checkout, "node_modules"), "dir");
    const notes: string[] = [];
    const [lockBefore, lockAfter] = await Promise.all([
      git(root, ["show", `${sha}:package-lock.json`]).catch(() => ""),
      readFile(join(root, "package-lock.json"), "utf8").catch(() => ""),
    ]);
    if (lockBefore !== lockAfter) {
      notes.push(`package-lock.json differs between ${ref} and the working tree; ${ref} was exported with the working tree's node_modules.`);
    }
    const [sb, sa] = await Promise.all([stacksIn(checkout), stacksIn(root)]);
    const stacks = stack ? [stack] : [...new Set([...sb, ...sa])].sort();
    if (stack && !sb.includes(stack) && !sa.includes(stack)) {
      throw new CliError(`no stack ${stack} at ${ref} or in the working tree`, `choose one of: ${[...new Set([...sb, ...sa])].join(", ")}`);
    }
    const [before, after] = [join(tmp, "before"), join(tmp, "after")];
    const tasks = stacks.flatMap((s) => [
      ...(sb.includes(s) ? [() => exportStack(checkout, s, join(before, s), ref)] : []),
      ...(sa.includes(s) ? [() => exportStack(root, s, join(after, s), "the working tree")] : []),
    ]);
    await inParallel(tasks, PARALLEL);
    return { before, after, notes, cleanup };
  } catch (err: unknown) {
    await cleanup();
    throw err;
  }
}
