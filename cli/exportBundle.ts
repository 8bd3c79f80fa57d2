import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { ConfigError, loadStackConfigFile, type StackConfig } from "../components/config";
import { kubernetesBundle } from "../components/platforms/kubernetes/specs";
import { renderBundle, type BundleFile } from "../components/render/bundle";
import { GUIDE_FILE } from "./commands/export";
import { listStacks } from "./commands/stacks";
import { CliError } from "./errors";
import { integrationGuide } from "./integrationGuide";
import { progressWriter, type CliIo } from "./io";

/** Every file `export` writes for a stack: the deployable bundle plus the integration guide. */
export function exportFiles(stack: string, cfg: StackConfig): BundleFile[] {
  const bundle = cfg.platform === "kubernetes" ? kubernetesBundle(cfg) : renderBundle(cfg);
  return [...bundle, { path: GUIDE_FILE, content: integrationGuide(stack, cfg, bundle) }];
}

async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

export interface ExportFlags {
  stack?: string;
  stackFile?: string;
  stacksDir: string;
  out: string;
  quiet?: boolean;
}

/** Which stack file the flags name: --stack-file, or --stack looked up in --stacks-dir. */
export async function findStackFile(io: CliIo, flags: { stack?: string; stackFile?: string; stacksDir: string }): Promise<{ stack: string; file: string }> {
  if (flags.stackFile) {
    const file = resolve(io.cwd, flags.stackFile);
    return { file, stack: flags.stack ?? /Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1] ?? "stack" };
  }
  if (flags.stack) {
    const dir = resolve(io.cwd, flags.stacksDir);
    const known = await listStacks(dir);
    const found = known.find((s) => s.name === flags.stack);
    if (!found) {
      throw new CliError(
        `no stack file for "${flags.stack}" in ${dir}`,
        known.length ? `choose one of: ${known.map((s) => s.name).join(", ")}` : "create stacks/Pulumi.<stack>.yaml, or give --stack-file",
      );
    }
    return { file: found.file, stack: flags.stack };
  }
  throw new CliError("no stack given", "pass --stack <name> (a stacks/Pulumi.<name>.yaml file) or --stack-file FILE");
}

/** Runs a stack-config step, turning its ConfigError into one the CLI prints with the file to fix. */
export function withConfigHint<T>(io: CliIo, file: string, load: () => T): T {
  try {
    return load();
  } catch (err: unknown) {
    if (err instanceof ConfigError) throw new CliError(err.message, `fix the keys above in ${relative(io.cwd, file)} and rerun`);
    throw err;
  }
}

async function loadConfig(io: CliIo, flags: ExportFlags): Promise<{ stack: string; cfg: StackConfig }> {
  const { stack, file } = await findStackFile(io, flags);
  return { stack, cfg: withConfigHint(io, file, () => loadStackConfigFile(file)) };
}

/** The `export` command's work: load the stack file, render, write only what changed. */
export async function runExport(io: CliIo, flags: ExportFlags): Promise<void> {
      const progress = progressWriter(io, flags.quiet);
      const { stack, cfg } = await loadConfig(io, flags);
      progress(`rendering stack ${stack} (${cfg.platform})`);
      const files = exportFiles(stack, cfg);
      const out = resolve(io.cwd, flags.out);
      const before = await filesBelow(out);
      let changed = 0;
      try {
        for (const f of files) {
          const path = join(out, f.path);
          const old = await readFile(path, "utf8").catch(() => undefined);
          if (old === f.content) continue;
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, f.content);
          changed += 1;
        }
      } catch (err: unknown) {
        throw new CliError(`cannot write into ${out}: ${err instanceof Error ? err.message : String(err)}`, "choose a writable --out directory");
      }
      progress(`wrote ${files.length} files to ${out} (${changed} changed)`);
      const ours = new Set(files.map((f) => f.path));
      const stale = before.filter((p) => !ours.has(p)).sort();
      if (stale.length > 0) {
        io.stderr.write(`note: ${stale.length} file(s) in ${out} are not part of this export (${stale.slice(0, 5).join(", ")}${stale.length > 5 ? ", ..." : ""}); remove them if an earlier export left them\n`);
      }
}
