import { Command } from "commander";
import { exporterCommand } from "../exporter/cli";

/** The `gpu-monitoring` command: one entry point for every operation on the stack. */
export function buildProgram(): Command {
  const program = new Command("gpu-monitoring")
    .description("Monitoring for GPU hosts and GPU clusters: exporter, config export, Grafana upload, queries, reports, status")
    .showHelpAfterError();
  program.addCommand(exporterCommand());
  return program;
}

/** Runs the CLI; errors end the process with exit code 1 and a one-line message. */
export async function run(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (err: unknown) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void run(process.argv);
