import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { CliError } from "./errors";

/** A dashboard as Grafana's HTTP API takes it: the model plus the UID and title it is known by. */
export interface DashboardModel {
  readonly uid: string;
  readonly title: string;
  readonly model: Readonly<Record<string, unknown>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks a parsed dashboard JSON has the uid and title Grafana needs to create or update it by UID. */
export function toDashboardModel(value: unknown, origin: string): DashboardModel {
  const model = typeof value === "string" ? (JSON.parse(value) as unknown) : value;
  if (!isRecord(model)) throw new CliError(`${origin} is not a dashboard JSON object`, "give Grafana dashboard JSON files (one object each)");
  const { uid, title } = model;
  if (typeof uid !== "string" || uid === "" || typeof title !== "string" || title === "") {
    throw new CliError(`${origin} has no "uid" or "title"`, "every dashboard needs a uid and a title so it can be updated in place");
  }
  return { uid, title, model };
}

/** Reads every *.json in a directory (sorted by name), e.g. the dashboards folder of an `export`. */
export async function dashboardsFromDirectory(dir: string): Promise<DashboardModel[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch (err: unknown) {
    throw new CliError(`cannot read ${dir}: ${err instanceof Error ? err.message : String(err)}`, "give --from-dir a directory of dashboard JSON files");
  }
  if (names.length === 0) throw new CliError(`${dir} holds no .json files`, "point --from-dir at a folder of dashboard JSON files");
  const out: DashboardModel[] = [];
  for (const name of names) {
    const path = join(dir, name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, "utf8"));
    } catch (err: unknown) {
      throw new CliError(`${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, "fix or remove the file");
    }
    out.push(toDashboardModel(parsed, path));
  }
  return out;
}
