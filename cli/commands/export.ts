import { Command } from "commander";
import type { CliIo } from "../io";
import { loadLazily } from "../lazy";

export const GUIDE_FILE = "INTEGRATION.md";

const MANIFEST_NOTE =
  "A re-export replaces only files unchanged since the last export (their hashes are kept in\n.gpu-monitoring-export.json); one edited by hand stops it with exit code 1 unless --force.";

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
    .option("--addressing <how>", "container: services reach each other by name on the stack's network; loopback: as processes on this host (127.0.0.1 and the configured ports)", "container")
    .option("--force", "overwrite files changed by hand since the last export")
    .option("-q, --quiet", "no progress lines")
    .addHelpText(
      "after",
      `\nWrites prometheus/prometheus.yml, prometheus/rules/*.yml, alertmanager/alertmanager.yml,\ngrafana/provisioning/{datasources,dashboards}/..., what the platform runs (docker/services.yml, or\nkubernetes/manifests.yaml with secrets as placeholders) and ${GUIDE_FILE}. The same stack file always gives the same bytes;\n\`gpu-monitoring diff\` compares two exports.
${MANIFEST_NOTE}\n\nExamples:\n  gpu-monitoring export --stack dev --out monitoring\n  gpu-monitoring export --stack dev --addressing loopback --out local && promtool check config local/prometheus/prometheus.yml\n  gpu-monitoring export --stack-file ../site/Pulumi.gpu01.yaml --out /tmp/gpu01 && promtool check config /tmp/gpu01/prometheus/prometheus.yml\n`,
    )
    .action(async (flags: Parameters<ExportModule["runExport"]>[1]) => {
      const { runExport } = await loadLazily<ExportModule>("../exportBundle");
      await runExport(io, flags);
    });
}
