import { Command } from "commander";
import type { CliIo } from "../io";
import { loadLazily } from "../lazy";

export const GUIDE_FILE = "INTEGRATION.md";

/** Loaded when the command runs: rendering pulls in the whole component library, which `--help` does not need. */
type ExportModule = typeof import("../exportBundle");

export function exportCommand(io: CliIo): Command {
  return new Command("export")
    .description(
      "Render everything a stack deploys (prometheus.yml, rules, alertmanager.yml, Grafana provisioning and dashboards) plus an integration guide into a directory, without Pulumi or any network",
    )
    .option("--stack <name>", "stack to export: stacks/Pulumi.<name>.yaml")
    .option("--stack-file <file>", "export this stack file instead of one in --stacks-dir")
    .option("--stacks-dir <dir>", "folder holding the stack files", "stacks")
    .requiredOption("--out <dir>", "directory to write into (created if missing); laid out like DS01's monitoring folder")
    .option("-q, --quiet", "no progress lines")
    .addHelpText(
      "after",
      `\nWrites prometheus/prometheus.yml, prometheus/rules/*.yml, alertmanager/alertmanager.yml,\ngrafana/provisioning/{datasources,dashboards}/..., what the platform runs (docker/services.yml, or\nkubernetes/manifests.yaml with secrets as placeholders) and ${GUIDE_FILE}. The same stack file always gives the same bytes;\n\`gpu-monitoring diff\` compares two exports.\n\nExamples:\n  gpu-monitoring export --stack dev --out monitoring\n  gpu-monitoring export --stack-file ../site/Pulumi.gpu01.yaml --out /tmp/gpu01 && promtool check config /tmp/gpu01/prometheus/prometheus.yml\n`,
    )
    .action(async (flags: Parameters<ExportModule["runExport"]>[1]) => {
      const { runExport } = await loadLazily<ExportModule>("../exportBundle");
      await runExport(io, flags);
    });
}
