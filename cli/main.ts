import { Command, CommanderError } from "commander";
import { exporterCommand } from "../exporter/cli";
import { DIFF_ERROR_EXIT, diffCommand } from "./commands/diff";
import { exportCommand } from "./commands/export";
import { grafanaCommand } from "./commands/grafana";
import { queryCommand } from "./commands/query";
import { reportCommand } from "./commands/report";
import { servicesCommand } from "./commands/services";
import { stacksCommand } from "./commands/stacks";
import { statusCommand } from "./commands/status";
import { formatError, withoutOptionValues } from "./errors";
import { processIo, type CliIo } from "./io";

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
  const program = new Command("gpu-monitoring").description(
    "Monitoring for GPU hosts and GPU clusters: exporter, config export and review diff, Grafana upload, queries, reports, status, services found through SLURM",
  );
  program.addCommand(exporterCommand());
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
    if (err instanceof CommanderError) return err.exitCode;
    io.stderr.write(formatError(err));
    return 1;
  }
}

/** Runs the CLI on the real process; errors end it with exit code 1 and a message saying what to do next. */
export async function run(argv: readonly string[]): Promise<void> {
  process.exitCode = await execute(argv, processIo());
}

if (require.main === module) void run(process.argv);
