import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * `export` keeps the SHA-256 of every file it wrote in this file beside them, so a re-export can
 * tell a file it may replace (unchanged since the last export) from one a person has edited.
 */
export const MANIFEST_FILE = ".gpu-monitoring-export.json";

export interface ExportManifest {
  readonly comment: string;
  /** Bundle path -> SHA-256 (hex) of the bytes last written there. */
  readonly files: Readonly<Record<string, string>>;
}

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

export function manifestFor(files: readonly { path: string; content: string }[]): string {
  const manifest: ExportManifest = {
    comment: "written by gpu-monitoring export; lists what it wrote so a re-export does not overwrite hand edits",
    files: Object.fromEntries(files.map((f) => [f.path, sha256(f.content)])),
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The manifest of the last export into `dir`; empty when there was none (or it is unreadable). */
export async function readManifest(dir: string): Promise<Readonly<Record<string, string>>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8"));
    const files = parsed !== null && typeof parsed === "object" && "files" in parsed ? parsed.files : undefined;
    if (files === null || typeof files !== "object") return {};
    return Object.fromEntries(Object.entries(files).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch {
    return {};
  }
}

/**
 * Files that an export would change although they are not what the last export wrote: edited by
 * hand since, or there before any export. `onDisk` holds the current bytes of each path that exists.
 */
export function changedSinceExport(
  planned: readonly { path: string; content: string }[],
  onDisk: ReadonlyMap<string, string>,
  manifest: Readonly<Record<string, string>>,
): string[] {
  return planned
    .filter((f) => {
      const current = onDisk.get(f.path);
      if (current === undefined || current === f.content) return false;
      return manifest[f.path] !== sha256(current);
    })
    .map((f) => f.path);
}
