import { parse, parseAllDocuments } from "yaml";
import { CliError } from "../errors";

/** A YAML file of an export, parsed; a broken one is an error naming the file. */
export function yamlOf(path: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return parse(text, { version: "1.1" }) as unknown;
  } catch (err: unknown) {
    throw new CliError(`${path} is not valid YAML: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`, "compare two directories written by `gpu-monitoring export`");
  }
}

/** Every document of a multi-document YAML file. */
export function yamlDocumentsOf(path: string, text: string | undefined): unknown[] {
  if (text === undefined) return [];
  const docs = parseAllDocuments(text, { version: "1.1" });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    if (d.errors.length > 0) throw new CliError(`${path} is not valid YAML: ${d.errors[0]?.message.split("\n")[0] ?? ""}`, "compare two directories written by `gpu-monitoring export`");
  }
  return list.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined);
}

export function jsonOf(path: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err: unknown) {
    throw new CliError(`${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, "compare two directories written by `gpu-monitoring export`");
  }
}
