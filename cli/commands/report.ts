import { Command, Option } from "commander";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CliError, UsageError } from "../errors";
import { loadLazily } from "../lazy";
import { displayUrl } from "../http";
import { progressWriter, type CliIo } from "../io";
import { parseDuration, parseTime } from "../options";
import { PrometheusClient } from "../prometheus";
import { buildReport, reportJson, reportMarkdown } from "../report";
import { prometheusUrlFrom } from "./query";

const FORMATS = ["markdown", "json", "html"] as const;

type ReportModule = typeof import("../reportHtml");

interface ReportFlags {
  prometheusUrl?: string;
  window: string;
  time?: string;
  range: string;
  output?: "markdown" | "json" | "html";
  format?: "markdown" | "json" | "html";
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
    .addOption(new Option("-o, --output <format>", "what to print on stdout when --out-dir is not given (default markdown)").choices([...FORMATS]))
    .addOption(new Option("--format <format>", "the same as --output").choices([...FORMATS]).hideHelp())
    .option("--range <duration>", "span of the HTML report's charts, ending at --time", "1h")
    .option("--out-dir <dir>", "write report.md, report.json and report.html into DIR instead of printing")
    .addOption(new Option("--timeout <duration>", "limit for each query").default("30s"))
    .option("-q, --quiet", "no progress lines")
    .addHelpText(
      "after",
      "\nThe HTML report is one self-contained page (charts of GPU utilisation and of allocations per user over\n--range, drawn with uPlot inlined into the page, and the tables): it opens without Grafana or a network.\n\nExamples:\n  gpu-monitoring report --prometheus-url http://127.0.0.1:9090\n  gpu-monitoring report --window 1h --out-dir reports/$(date +%F)\n  gpu-monitoring report --prometheus-url http://127.0.0.1:9090 -o html --range 6h > report.html\n",
    )
    .action(async (flags: ReportFlags) => {
      const base = prometheusUrlFrom(flags.prometheusUrl, io);
      parseDuration(flags.window, "--window");
      const rangeMs = parseDuration(flags.range, "--range");
      if (flags.output && flags.format && flags.output !== flags.format) throw new UsageError(`--output ${flags.output} and --format ${flags.format} disagree`, "give one of them");
      const format = flags.output ?? flags.format ?? "markdown";
      const client = new PrometheusClient(base, parseDuration(flags.timeout, "--timeout"));
      const progress = progressWriter(io, flags.quiet);
      const at = flags.time ? parseTime(flags.time, "--time", new Date()) : new Date();
      const report = await buildReport(client, { window: flags.window, at, prometheus: displayUrl(base), progress });
      const html = async (): Promise<string> => {
        const { chartData, reportHtml } = await loadLazily<ReportModule>("../reportHtml");
        const range = { start: new Date(at.getTime() - rangeMs), end: at };
        progress(`charts over ${flags.range}`);
        return reportHtml(report, await chartData(client, { ...range, points: 240 }), range);
      };
      if (!flags.outDir) {
        io.stdout.write(format === "json" ? reportJson(report) : format === "html" ? await html() : reportMarkdown(report));
        return;
      }
      const dir = resolve(io.cwd, flags.outDir);
      const page = await html();
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, "report.json"), reportJson(report));
        await writeFile(join(dir, "report.md"), reportMarkdown(report));
        await writeFile(join(dir, "report.html"), page);
      } catch (err: unknown) {
        throw new CliError(`cannot write the report to ${dir}: ${err instanceof Error ? err.message : String(err)}`, "choose a writable --out-dir");
      }
      progress(`wrote ${join(dir, "report.md")}, report.json and report.html (${report.summary.targetsUp} of ${report.summary.targetsTotal} targets up)`);
    });
}
