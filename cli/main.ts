import { Command, CommanderError } from "commander";
import { exporterCommand } from "../exporter/cli";
import { demoCommand } from "./commands/demo";
import { exportCommand } from "./commands/export";
import { grafanaCommand } from "./commands/grafana";
import { queryCommand } from "./commands/query";
import { reportCommand } from "./commands/report";
import { stacksCommand } from "./commands/stacks";
import { statusCommand } from "./commands/status";
import { formatError } from "./errors";
import { processIo, type CliIo } from "./io";

/** Applies what commander does not pass from a parent to commands added with addCommand(). */
function configureTree(cmd: Command, io: CliIo): void {
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  cmd.showHelpAfterError("(add --help for usage)");
  for (const sub of cmd.commands) configureTree(sub, io);
}

/** The `gpu-monitoring` command: one entry point for every operation on the stack. */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command("gpu-monitoring").description(
    "Monitoring for GPU hosts and GPU clusters: exporter, config export, Grafana upload, queries, reports, status",
  );
  program.addCommand(exporterCommand());
  program.addCommand(demoCommand(io));
  program.addCommand(exportCommand(io));
  program.addCommand(grafanaCommand(io));
  program.addCommand(queryCommand(io));
  program.addCommand(reportCommand(io));
  program.addCommand(statusCommand(io));
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
