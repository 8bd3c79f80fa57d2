import { Command } from "commander";
import type { CliIo } from "../io";
import { loadLazily } from "../lazy";

type DemoModule = typeof import("../demo");

export function demoCommand(io: CliIo): Command {
  return new Command("demo")
    .description(
      "Run the whole stack on this machine, without Pulumi or Docker: the exporter in simulation (DS01, DRM, DCGM), Prometheus, Alertmanager, node-exporter, a receiver that prints alerts, and Grafana when it is installed",
    )
    .option("--stack <name>", "stack file whose rules, thresholds and dashboards to run: stacks/Pulumi.<name>.yaml", "dev")
    .option("--stack-file <file>", "run this stack file instead of one in --stacks-dir")
    .option("--stacks-dir <dir>", "folder holding the stack files", "stacks")
    .option("--data-dir <dir>", "where rendered config, Prometheus and Alertmanager data and logs are kept", ".demo")
    .option("--no-grafana", "do not start Grafana even when a grafana-server or grafana binary is on PATH")
    .option("--scrape-interval <seconds>", "scrape and rule evaluation interval", "5s")
    .option("--targets-timeout <seconds>", "give up when not every target is up after this long", "120s")
    .addHelpText(
      "after",
      `
Every service listens on a free 127.0.0.1 port, printed when the stack is up; the configuration is
the same bundle \`export --addressing loopback\` writes. Prometheus, Alertmanager and node-exporter
come from PATH (Debian: apt-get install prometheus prometheus-alertmanager prometheus-node-exporter).
Alerts go to the demo's own webhook receiver and are printed as they arrive; fire one by writing
the simulation overrides file the demo names. Ctrl-C or SIGTERM stops every process it started.

Exit codes: 0 stopped on request, 1 a service failed or the stack did not come up, 2 bad usage.

Examples:
  gpu-monitoring demo   # needs to run until stopped: Ctrl-C or SIGTERM ends it
  gpu-monitoring demo --stack prod --data-dir /tmp/gpu-demo --no-grafana   # needs to run until stopped: Ctrl-C or SIGTERM ends it
`,
    )
    .action(async (flags: Parameters<DemoModule["runDemo"]>[1]) => {
      const { runDemo } = await loadLazily<DemoModule>("../demo");
      await runDemo(io, flags);
    });
}
