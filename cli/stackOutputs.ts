import "../components/services/builtin";
import { registeredServices } from "../components/services/registry";
import type { ServiceName } from "../components/spec";
import { CliError } from "./errors";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Component URLs from `pulumi stack output --json`. The program exports them as `urls`, a map
 * from component name (prometheus, grafana, nodeExporter, ...) to URL; top-level `<name>Url`
 * outputs are read too, so a stack exporting them one by one works as well.
 */
export function urlsFromStackOutputs(json: string, origin: string): Map<ServiceName, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new CliError(`${origin} is not JSON`, "pipe `pulumi stack output --json` into --outputs -, or give a file holding its output");
  }
  if (!isRecord(parsed)) throw new CliError(`${origin} is not a JSON object of stack outputs`, "use the output of `pulumi stack output --json`");
  const nested = isRecord(parsed.urls) ? parsed.urls : {};
  const found = new Map<ServiceName, string>();
  for (const { name } of registeredServices()) {
    const value = nested[name] ?? parsed[`${name}Url`];
    if (typeof value === "string" && value !== "" && value !== "[secret]") found.set(name, value);
  }
  return found;
}
