import { Command, Option } from "commander";
import { formatError } from "../errors";
import type { CliIo } from "../io";
import { loadLazily } from "../lazy";

/** Loaded when the command runs: it pulls in YAML parsing, jsdiff and the export code. */
type DiffModule = typeof import("../diff/runDiff");

/** GitHub refuses comments over 65,536 characters; leave room for the preview beside the diff. */
export const DEFAULT_MAX_BYTES = 60_000;

/** Exit code for an error: 1 already means "there are changes". */
export const DIFF_ERROR_EXIT = 2;

export function diffCommand(io: CliIo): Command {
  return new Command("diff")
    .description("What changes between two exports, or between a git revision and the working tree, in reviewers' terms: alerts, panels, scrape jobs, routes, Kubernetes objects")
    .argument("[dirs...]", "two directories written by `export --out` (one stack each, or one subdirectory per stack)")
    .option("--base <git-ref>", "export every stack at this revision (in a temporary git worktree) and in the working tree, and compare")
    .option("--stack <name>", "only this stack")
    .addOption(new Option("-o, --output <format>", "markdown (a pull-request comment), text or json").choices(["markdown", "text", "json"]).default("markdown"))
    .option("--max-bytes <n>", "markdown only: cut the output to this size, saying what was left out", String(DEFAULT_MAX_BYTES))
    .addHelpText(
      "after",
      `\nExit codes: 0 no changes (and no output), 1 changes, ${DIFF_ERROR_EXIT} an error (bad directory, unknown revision, a stack that does not export).\nSecrets never appear: secret files (*_file) and credential-like fields say only that they changed.\n\nExamples:\n  gpu-monitoring diff --base origin/main --stack prod   # needs a git clone: compares with the origin/main revision\n  gpu-monitoring export --stack dev --out /tmp/a && (edit) && gpu-monitoring export --stack dev --out /tmp/b && gpu-monitoring diff /tmp/a /tmp/b -o text   # needs a hand edit: (edit) stands for your change\n`,
    )
    .action(async (dirs: string[], flags: Parameters<DiffModule["runDiff"]>[2]) => {
      try {
        const { runDiff } = await loadLazily<DiffModule>("../diff/runDiff");
        io.exitCode = await runDiff(io, dirs, flags);
      } catch (err: unknown) {
        io.stderr.write(formatError(err));
        io.exitCode = DIFF_ERROR_EXIT;
      }
    });
}
