import { Command, Option } from "commander";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { CliError, UsageError } from "../errors";
import { parseBaseUrl } from "../http";
import { progressWriter, type CliIo } from "../io";
import { flagOrEnv, oneOf, parseDuration, parseTime } from "../options";
import { PrometheusClient, type Query } from "../prometheus";
import { catalogFormat, resultJson, resultTable, seriesCount } from "../queryOutput";

const OUTPUTS = ["table", "json"] as const;
/** Prometheus refuses a range query of more than 11,000 points per series. */
const MAX_POINTS = 11_000;
const DEFAULT_POINTS = 250;

interface QueryFlags {
  prometheusUrl?: string;
  time?: string;
  range?: string;
  start?: string;
  end?: string;
  step?: string;
  output?: string;
  out?: string;
  timeout: string;
  quiet?: boolean;
  raw?: boolean;
}

/** Prometheus URL from the flag or PROMETHEUS_URL, with a message saying how to give it. */
export function prometheusUrlFrom(flag: string | undefined, io: CliIo): URL {
  const raw = flagOrEnv(flag, io.env, "PROMETHEUS_URL");
  if (!raw) throw new UsageError("no Prometheus URL given", "pass --prometheus-url http://HOST:9090 or set PROMETHEUS_URL");
  return parseBaseUrl(raw, "--prometheus-url");
}

/** Turns the time flags into an instant query (no range flags) or a range query. */
export function buildQuery(expr: string, flags: QueryFlags, now: Date): Query {
  const ranged = flags.range !== undefined || flags.start !== undefined || flags.end !== undefined || flags.step !== undefined;
  if (!ranged) return { kind: "instant", expr, ...(flags.time ? { time: parseTime(flags.time, "--time", now) } : {}) };
  if (flags.time) throw new UsageError("--time is for instant queries and cannot be combined with --range/--start/--end/--step", "drop --time, or drop the range flags");
  if (flags.range !== undefined && flags.start !== undefined) throw new UsageError("--range and --start both set the start", "give one of them");
  const end = flags.end ? parseTime(flags.end, "--end", now) : now;
  const start = flags.start
    ? parseTime(flags.start, "--start", now)
    : new Date(end.getTime() - parseDuration(flags.range ?? "1h", "--range"));
  const spanSeconds = (end.getTime() - start.getTime()) / 1000;
  if (spanSeconds <= 0) throw new UsageError("the range ends before it starts", "make --start earlier than --end");
  const stepSeconds = flags.step ? parseDuration(flags.step, "--step") / 1000 : Math.max(1, Math.ceil(spanSeconds / DEFAULT_POINTS));
  if (spanSeconds / stepSeconds > MAX_POINTS) {
    throw new UsageError(`${Math.ceil(spanSeconds / stepSeconds)} points per series is more than Prometheus allows (${MAX_POINTS})`, "use a larger --step or a shorter range");
  }
  return { kind: "range", expr, start, end, stepSeconds };
}

export function queryCommand(io: CliIo): Command {
  return new Command("query")
    .description("Run a PromQL instant or range query against Prometheus and print a table or JSON, or collect it to a file")
    .argument("<promql>", "PromQL expression, e.g. 'up' or 'avg by (gpu) (DCGM_FI_DEV_GPU_UTIL)'")
    .option("--prometheus-url <url>", "Prometheus base URL (env PROMETHEUS_URL), e.g. http://127.0.0.1:9090")
    .option("--time <time>", "evaluate an instant query at this time (RFC 3339 or Unix seconds; default now)")
    .option("--range <duration>", "range query over the last DURATION (e.g. 1h), ending at --end or now")
    .option("--start <time>", "range query start (RFC 3339 or Unix seconds)")
    .option("--end <time>", "range query end (default now)")
    .option("--step <duration>", "range query resolution (default: the range over 250 points)")
    .addOption(new Option("-o, --output <format>", "table or json (default table; json with --out)").choices([...OUTPUTS]))
    .option("--out <file>", "write the result to FILE instead of stdout (collect a query)")
    .addOption(new Option("--timeout <duration>", "limit for the request").default("30s"))
    .option("--raw", "range queries: every point with Prometheus's own numbers, instead of min/avg/max/last per series in the metric's unit")
    .option("-q, --quiet", "no progress lines")
    .addHelpText(
      "after",
      "\nExamples:\n  gpu-monitoring query --prometheus-url http://127.0.0.1:9090 up\n  gpu-monitoring query 'avg by (gpu) (DCGM_FI_DEV_GPU_UTIL)' --range 6h --step 5m -o json\n  gpu-monitoring query DCGM_FI_DEV_GPU_TEMP --range 2m        # min/avg/max/last per GPU in °C; --raw for every point\n  gpu-monitoring query 'sum(ds01_gpu_allocated)' --out allocations.json\n",
    )
    .action(async (expr: string, flags: QueryFlags) => {
      const client = new PrometheusClient(prometheusUrlFrom(flags.prometheusUrl, io), parseDuration(flags.timeout, "--timeout"));
      const output = oneOf(flags.output ?? (flags.out ? "json" : "table"), OUTPUTS, "--output");
      const query = buildQuery(expr, flags, new Date());
      const progress = progressWriter(io, flags.quiet);
      progress(query.kind === "range" ? `querying ${query.start.toISOString()} .. ${query.end.toISOString()} every ${query.stepSeconds}s` : "querying");
      const { data, warnings } = await client.query(query);
      for (const w of warnings) io.stderr.write(`warning from Prometheus: ${w}\n`);
      const text = output === "json" ? resultJson(query, data) : resultTable(data, catalogFormat(expr), { raw: flags.raw === true });
      if (flags.out) {
        const path = resolve(io.cwd, flags.out);
        try {
          await writeFile(path, text);
        } catch (err: unknown) {
          throw new CliError(`cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`, "choose a writable --out path");
        }
        progress(`wrote ${seriesCount(data)} series (${data.resultType}) to ${path}`);
      } else {
        io.stdout.write(text);
      }
    });
}
