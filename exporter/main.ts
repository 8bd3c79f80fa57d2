import { CommanderError } from "commander";
import { formatError, withoutOptionValues } from "./errors";
import { exporterCommand } from "./cli";
import { serveEventsScan } from "./ds01/events-log";
import { isScanChild } from "./ds01/scan-child";

/**
 * Entry point of the exporter alone (the container image and the systemd unit run this), so
 * it loads neither Pulumi nor the other commands. Same flags and exit codes as
 * `gpu-monitoring exporter`.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const command = exporterCommand()
    .name("gpu-monitoring-exporter")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({ outputError: (s, write) => write(withoutOptionValues(s)) });
  try {
    await command.parseAsync([...argv]);
  } catch (err: unknown) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(formatError(err));
    process.exitCode = 1;
  }
}

// Started as a child for one large read of the events log (ds01/scan-child.ts), it serves that
// read only. main() never rejects: every error becomes a message and an exit code.
if (isScanChild()) serveEventsScan();
else if (require.main === module) void main(process.argv);
