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

if (require.main === module || process.argv[1]?.endsWith("gpu-monitoring.cjs")) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
