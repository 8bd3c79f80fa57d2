import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { CliError } from "../errors";
import type { ExportFiles } from "./model";

/**
 * Reading `export` output: one stack's directory, or a directory holding one such directory per
 * stack (what `diff --base` and the CI workflow write).
 */

const EXPORT_MARKERS = ["prometheus", "alertmanager", "grafana", "docker", "kubernetes", "INTEGRATION.md"];

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function isExport(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.some((n) => EXPORT_MARKERS.includes(n));
}

export async function readExport(dir: string): Promise<ExportFiles> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = new Map<string, string>();
  for (const e of entries.filter((x) => x.isFile())) {
    const path = join(e.parentPath, e.name);
    files.set(relative(dir, path).split(sep).join("/"), await readFile(path, "utf8"));
  }
  return files;
}

/** The stack an export was made for, from the first line of its guide. */
async function stackNamed(dir: string): Promise<string | undefined> {
  const guide = await readFile(join(dir, "INTEGRATION.md"), "utf8").catch(() => "");
  return /^# .*stack `([^`]+)`/.exec(guide)?.[1];
}

/** Stack name → export directory. A single export is named by `name`, else by its guide, else "export". */
export async function exportsIn(dir: string, name: string | undefined, side: string): Promise<Map<string, string>> {
  if (!(await isDir(dir))) throw new CliError(`${side} directory ${dir} does not exist or is not a directory`, "give two directories written by `gpu-monitoring export`");
  if (await isExport(dir)) return new Map([[name ?? (await stackNamed(dir)) ?? "export", dir]]);
  const stacks = new Map<string, string>();
  for (const e of (await readdir(dir, { withFileTypes: true })).filter((x) => x.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (await isExport(join(dir, e.name))) stacks.set(e.name, join(dir, e.name));
  }
  if (stacks.size === 0) {
    throw new CliError(`${side} directory ${dir} holds no export`, "give a directory written by `gpu-monitoring export --out`, or one holding such a directory per stack");
  }
  return stacks;
}
