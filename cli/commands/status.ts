import { Command, Option } from "commander";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { ServiceName } from "../../components/spec";
import { CliError, UsageError } from "../errors";
import { checkAll, componentProbes } from "../health";
import { parseBaseUrl } from "../http";
import type { CliIo } from "../io";
import { flagOrEnv, parseDuration } from "../options";
import { urlsFromStackOutputs } from "../stackOutputs";
import { formatTable } from "../table";

/** Flag name for each component's URL, e.g. nodeExporter -> --node-exporter-url. */
const flagFor = (name: ServiceName): string => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}-url`;
const optionKey = (name: ServiceName): string => `${name}Url`;
/** Environment variable for each component's URL, e.g. nodeExporter -> NODE_EXPORTER_URL. */
export const envFor = (name: ServiceName): string => `${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_URL`;

type StatusFlags = Record<string, string | boolean | undefined> & {
  outputs?: string;
  output: "table" | "json";
  timeout: string;
  quiet?: boolean;
};

async function readOutputs(io: CliIo, source: string): Promise<string> {
  if (source === "-") return io.readStdin();
  const path = resolve(io.cwd, source);
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new CliError(`cannot read --outputs ${path}`, "save `pulumi stack output --json > outputs.json` first, or pipe it in with --outputs -");
  }
}

export function statusCommand(io: CliIo): Command {
  const cmd = new Command("status")
    .description("Check each component's health endpoint and print a table; exit 0 only when every component checked is healthy")
    .option("--outputs <file>", "read component URLs from `pulumi stack output --json` saved to FILE, or '-' for stdin");
  const probes = componentProbes();
  for (const probe of probes) cmd.option(`${flagFor(probe.name)} <url>`, `${probe.name} base URL (checks ${probe.path}); else env ${envFor(probe.name)}`);
  return cmd
    .addOption(new Option("-o, --output <format>", "table or json").choices(["table", "json"]).default("table"))
    .addOption(new Option("--timeout <duration>", "limit for each check").default("5s"))
    .option("-q, --quiet", "print nothing; the exit code says it all (0 healthy, 1 not)")
    .addHelpText(
      "after",
      "\nExamples:\n  pulumi stack output --json | gpu-monitoring status --outputs -   # needs Pulumi: a deployed stack's outputs\n  gpu-monitoring status --prometheus-url http://127.0.0.1:9090 --grafana-url http://127.0.0.1:3000\n  gpu-monitoring status --outputs outputs.json --quiet || echo 'monitoring is degraded'\n  PROMETHEUS_URL=http://127.0.0.1:9090 gpu-monitoring status\n\nExit codes: 0 every component healthy, 1 one or more unhealthy, 2 bad usage (no URL given).\n",
    )
    .action(async (flags: StatusFlags) => {
      const raw = flags.outputs ? urlsFromStackOutputs(await readOutputs(io, flags.outputs), flags.outputs === "-" ? "stdin" : flags.outputs) : new Map<ServiceName, string>();
      // A flag beats the environment, which beats the stack outputs, for the same component.
      for (const probe of probes) {
        const flag = flags[optionKey(probe.name)];
        const value = flagOrEnv(typeof flag === "string" ? flag : undefined, io.env, envFor(probe.name));
        if (value !== undefined) raw.set(probe.name, value);
      }
      if (raw.size === 0) {
        throw new UsageError(
          "no component URLs given",
          `pass --outputs with \`pulumi stack output --json\`, URLs such as --prometheus-url http://127.0.0.1:9090, or set ${probes.map((p) => envFor(p.name)).slice(0, 3).join(", ")}, ...`,
        );
      }
      const urls = new Map<ServiceName, URL>();
      for (const [name, value] of raw) urls.set(name, parseBaseUrl(value, flagFor(name)));
      const results = await checkAll(urls, parseDuration(flags.timeout, "--timeout"));
      const unhealthy = results.filter((r) => !r.healthy);
      if (unhealthy.length > 0) io.exitCode = 1;
      if (flags.quiet) return;
      if (flags.output === "json") {
        io.stdout.write(`${JSON.stringify({ healthy: unhealthy.length === 0, components: results }, null, 2)}\n`);
        return;
      }
      io.stdout.write(
        formatTable(
          ["COMPONENT", "STATUS", "LATENCY", "URL", "DETAIL"],
          results.map((r) => [r.component, r.healthy ? "healthy" : "UNHEALTHY", `${r.latencyMs} ms`, r.url, r.detail]),
        ),
      );
      // The verdict is part of the result, so it goes to stdout with the table.
      io.stdout.write(
        unhealthy.length > 0
          ? `${unhealthy.length} of ${results.length} components unhealthy (${unhealthy.map((r) => r.component).join(", ")}); check that they run and that their URLs are right, then rerun\n`
          : `all ${results.length} components healthy\n`,
      );
    });
}
