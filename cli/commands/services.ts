import { Command, Option } from "commander";
import { displayUrl } from "../http";
import { progressWriter, type CliIo } from "../io";
import { parseDuration } from "../options";
import { PrometheusClient } from "../prometheus";
import { buildReport, reportJson, reportMarkdown } from "../report";
import { monitoredServices, serviceReportQueries, servicesById } from "../services";
import { formatTable } from "../table";
import { prometheusUrlFrom } from "./query";

interface CommonFlags {
  prometheusUrl?: string;
  output: string;
  timeout: string;
}

const common = (cmd: Command): Command =>
  cmd
    .option("--prometheus-url <url>", "Prometheus base URL (env PROMETHEUS_URL)")
    .addOption(new Option("--timeout <duration>", "limit for each request").default("30s"));

function client(flags: CommonFlags, io: CliIo): PrometheusClient {
  return new PrometheusClient(prometheusUrlFrom(flags.prometheusUrl, io), parseDuration(flags.timeout, "--timeout"));
}

/**
 * `gpu-monitoring services`: the services Prometheus finds through SLURM jobs (the stack's
 * `slurm.monitoringTargets`): their status, the endpoint of one by its SLURM job name or ID, and
 * an end-of-session report of their metrics.
 */
export function servicesCommand(io: CliIo): Command {
  const list = common(new Command("list"))
    .description("Status of every monitored service: scrape job, SLURM job, user, node, target and whether Prometheus scrapes it; exit 1 when one is down")
    .addOption(new Option("-o, --output <format>", "table or json").choices(["table", "json"]).default("table"))
    .action(async (flags: CommonFlags) => {
      const services = await monitoredServices(client(flags, io));
      if (services.some((s) => s.health !== "up")) io.exitCode = 1;
      if (flags.output === "json") {
        io.stdout.write(`${JSON.stringify(services, null, 2)}\n`);
        return;
      }
      if (services.length === 0) {
        io.stderr.write("no service found through SLURM is scraped: no monitoring target's job is running\n");
        return;
      }
      io.stdout.write(
        formatTable(
          ["SCRAPE JOB", "JOB ID", "JOB NAME", "USER", "PARTITION", "NODE", "TARGET", "STATUS", "LAST SCRAPE"],
          services.map((s) => [s.scrapeJob, s.jobId || "-", s.jobName || "-", s.user || "-", s.partition || "-", s.node, s.instance, s.health === "up" ? "up" : `DOWN ${s.lastError}`.trim(), `${(s.lastScrapeSeconds * 1000).toFixed(1)} ms`]),
        ),
      );
    });

  const endpoint = common(new Command("endpoint"))
    .description("Where a service runs: its node and the URL Prometheus scrapes, by SLURM job name (service ID) or job ID")
    .argument("<service>", "SLURM job name or job ID")
    .addOption(new Option("-o, --output <format>", "text or json").choices(["text", "json"]).default("text"))
    .action(async (id: string, flags: CommonFlags) => {
      const found = servicesById(await monitoredServices(client(flags, io)), id);
      if (flags.output === "json") {
        io.stdout.write(`${JSON.stringify(found.map((s) => ({ jobId: s.jobId, jobName: s.jobName, node: s.node, endpoint: `http://${s.instance}`, metrics: s.scrapeUrl, health: s.health })), null, 2)}\n`);
        return;
      }
      for (const s of found) {
        io.stdout.write(`Service ${s.jobName} (SLURM job ${s.jobId}, scrape job ${s.scrapeJob}):\n  Node: ${s.node}\n  Endpoint: http://${s.instance}\n  Metrics: ${s.scrapeUrl}\n  Status: ${s.health}\n`);
      }
    });

  const report = common(new Command("report"))
    .description("End-of-session report of the monitored services (all, or one by SLURM job name or ID): up, CPU, memory, scrape duration, GPUs held")
    .argument("[service]", "SLURM job name or job ID; all services when left out")
    .option("--window <duration>", "window for rates and averages", "5m")
    .addOption(new Option("-o, --output <format>", "markdown or json").choices(["markdown", "json"]).default("markdown"))
    .option("-q, --quiet", "no progress lines")
    .action(async (id: string | undefined, flags: CommonFlags & { window: string; quiet?: boolean }) => {
      parseDuration(flags.window, "--window");
      const prometheus = client(flags, io);
      const result = await buildReport(prometheus, {
        window: flags.window,
        at: new Date(),
        prometheus: displayUrl(prometheus.baseUrl),
        progress: progressWriter(io, flags.quiet),
        queries: serviceReportQueries(flags.window, id),
      });
      io.stdout.write(flags.output === "json" ? reportJson(result) : reportMarkdown(result));
    });

  return new Command("services")
    .description("Services found through SLURM jobs: status, endpoint by job name or ID, end-of-session report")
    .addCommand(list)
    .addCommand(endpoint)
    .addCommand(report)
    .addHelpText(
      "after",
      "\nExamples:\n  gpu-monitoring services list --prometheus-url http://127.0.0.1:9090\n  gpu-monitoring services endpoint ollama_abc123   # needs a cluster: a SLURM job of that name, scraped\n  gpu-monitoring services report ollama_abc123 --window 1h > session-report.md   # needs a cluster: as above, with an hour of data\n",
    );
}
