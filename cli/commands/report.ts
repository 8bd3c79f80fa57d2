import { Command, Option } from "commander";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CliError } from "../errors";
import { displayUrl } from "../http";
import { progressWriter, type CliIo } from "../io";
import { parseDuration, parseTime } from "../options";
import { PrometheusClient } from "../prometheus";
import { buildReport, reportJson, reportMarkdown } from "../report";
import { prometheusUrlFrom } from "./query";

interface ReportFlags {
  prometheusUrl?: string;
  window: string;
  time?: string;
  output: "markdown" | "json";
  outDir?: string;
  timeout: string;
  quiet?: boolean;
}

export function reportCommand(io: CliIo): Command {
  return new Command("report")
    .description("Build a report from Prometheus: targets up, CPU, memory, scrape duration, GPU utilisation and allocations, as Markdown and JSON")
    .option("--prometheus-url <url>", "Prometheus base URL (env PROMETHEUS_URL)")
    .option("--window <duration>", "window for rates and averages", "5m")
    .option("--time <time>", "evaluate at this time (RFC 3339 or Unix seconds; default now)")
    .addOption(new Option("-o, --output <format>", "what to print on stdout when --out-dir is not given").choices(["markdown", "json"]).default("markdown"))
    .option("--out-dir <dir>", "write report.md and report.json into DIR instead of printing")
    .addOption(new Option("--timeout <duration>", "limit for each query").default("30s"))
    .option("-q, --quiet", "no progress lines")
    .addHelpText(
      "after",
      "\nExamples:\n  gpu-monitoring report --prometheus-url http://127.0.0.1:9090\n  gpu-monitoring report --window 1h --out-dir reports/$(date +%F)\n",
    )
    .action(async (flags: ReportFlags) => {
      const base = prometheusUrlFrom(flags.prometheusUrl, io);
      parseDuration(flags.window, "--window");
      const client = new PrometheusClient(base, parseDuration(flags.timeout, "--timeout"));
      const progress = progressWriter(io, flags.quiet);
      const report = await buildReport(client, {
        window: flags.window,
        at: flags.time ? parseTime(flags.time, "--time", new Date()) : new Date(),
        prometheus: displayUrl(base),
        progress,
      });
      if (!flags.outDir) {
        io.stdout.write(flags.output === "json" ? reportJson(report) : reportMarkdown(report));
        return;
      }
      const dir = resolve(io.cwd, flags.outDir);
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, "report.json"), reportJson(report));
        await writeFile(join(dir, "report.md"), reportMarkdown(report));
      } catch (err: unknown) {
        throw new CliError(`cannot write the report to ${dir}: ${err instanceof Error ? err.message : String(err)}`, "choose a writable --out-dir");
      }
      progress(`wrote ${join(dir, "report.md")} and report.json (${report.summary.targetsUp} of ${report.summary.targetsTotal} targets up)`);
    });
}
