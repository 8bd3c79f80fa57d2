import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { exporterCommand } from "../exporter/cli";
import { serveEventsScan } from "../exporter/ds01/events-log";
import { isScanChild } from "../exporter/ds01/scan-child";
import { demoCommand } from "./commands/demo";
import { DIFF_ERROR_EXIT, diffCommand } from "./commands/diff";
import { exportCommand } from "./commands/export";
import { grafanaCommand } from "./commands/grafana";
import { queryCommand } from "./commands/query";
import { reportCommand } from "./commands/report";
import { servicesCommand } from "./commands/services";
import { stacksCommand } from "./commands/stacks";
import { statusCommand } from "./commands/status";
import { formatError, UsageError, withoutOptionValues } from "./errors";
import { processIo, type CliIo } from "./io";

/** One convention for every command: 0 done, 1 it failed (or found a problem), 2 it was called wrongly. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const EXIT_CODES_HELP = `
Exit codes (every command): ${EXIT_OK} done; ${EXIT_FAILURE} failed, or found a problem (status: a component down; diff: changes found); ${EXIT_USAGE} wrong usage (unknown command or flag, bad flag value; diff: any error).
Run \`gpu-monitoring <command> --help\` for a command's flags and examples.
`;

/** The package's version, from package.json beside the sources. */
function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8"));
    if (pkg !== null && typeof pkg === "object" && "version" in pkg && typeof pkg.version === "string") return pkg.version;
  } catch {
    // fall through
  }
  return "unknown";
}

/** Commands whose usage errors end with another code than 1, which means something else to them. */
const USAGE_ERROR_EXIT: ReadonlyMap<string, number> = new Map([["diff", DIFF_ERROR_EXIT]]);

/** Applies what commander does not pass from a parent to commands added with addCommand(). */
function configureTree(cmd: Command, io: CliIo): void {
  const usageExit = USAGE_ERROR_EXIT.get(cmd.name());
  cmd.exitOverride((err) => {
    throw usageExit !== undefined && err.exitCode === 1 ? new CommanderError(usageExit, err.code, err.message) : err;
  });
  cmd.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    outputError: (s, write) => write(withoutOptionValues(s)),
  });
  cmd.showHelpAfterError("(add --help for usage)");
  for (const sub of cmd.commands) configureTree(sub, io);
}

/** The `gpu-monitoring` command: one entry point for every operation on the stack. */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command("gpu-monitoring")
    .description("Monitoring for GPU hosts and GPU clusters: local demo, exporter, config export and review diff, Grafana upload, queries, reports, status, services found through SLURM")
    .version(packageVersion(), "-V, --version", "print the version")
    .addHelpText("after", EXIT_CODES_HELP);
  program.addCommand(exporterCommand());
  program.addCommand(demoCommand(io));
  program.addCommand(exportCommand(io));
  program.addCommand(diffCommand(io));
  program.addCommand(grafanaCommand(io));
  program.addCommand(queryCommand(io));
  program.addCommand(reportCommand(io));
  program.addCommand(statusCommand(io));
  program.addCommand(servicesCommand(io));
  program.addCommand(stacksCommand(io));
  configureTree(program, io);
  return program;
}

/** Runs the CLI with the given I/O and returns the exit code; argv is process.argv-shaped (node, script, ...args). */
export async function execute(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv]);
    return io.exitCode;
  } catch (err: unknown) {
    // commander has already printed its own message (usage errors, --help, --version).
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    io.stderr.write(formatError(err));
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/** Runs the CLI on the real process; errors end it with exit code 1 and a message saying what to do next. */
export async function run(argv: readonly string[]): Promise<void> {
  // An exporter started through this CLI without the optimising compiler (`node --lite-mode
  // bin/gpu-monitoring.cjs exporter ...`) starts its child for a large events-log read with this
  // same entry point (exporter/ds01/scan-child.ts); the child serves that read only.
  if (isScanChild()) return serveEventsScan();
  process.exitCode = await execute(argv, processIo());
}

// run() never rejects: execute() turns every error into a message and an exit code.
if (require.main === module) void run(process.argv);
