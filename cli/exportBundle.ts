import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { ConfigError, configWarnings, readStackFile, validateStackConfig, type StackConfig } from "../components/config";
import { GRAFANA_PASSWORD_SECRET } from "../components/services/grafana";
import { kubernetesBundle } from "../components/platforms/kubernetes/specs";
import { loopbackAddressing } from "../components/render/addressing";
import { BUNDLE_PATHS, renderBundle, type BundleFile } from "../components/render/bundle";
import { GUIDE_FILE } from "./commands/export";
import { listStacks } from "./commands/stacks";
import { deploymentRecord } from "./deploymentRecord";
import { CliError, UsageError } from "./errors";
import { changedSinceExport, manifestFor, MANIFEST_FILE, readManifest } from "./exportManifest";
import { integrationGuide } from "./integrationGuide";
import { progressWriter, type CliIo } from "./io";

/** How exported services reach each other: by container name on the stack's network, or as processes on 127.0.0.1. */
export type ExportAddressing = { readonly addressing: "container" } | { readonly addressing: "loopback"; readonly out: string };

/** Every file `export` writes for a stack: the deployable bundle, what the platform runs, and the integration guide. */
export function exportFiles(stack: string, cfg: StackConfig, how: ExportAddressing = { addressing: "container" }): BundleFile[] {
  const bundle =
    cfg.platform === "kubernetes"
      ? kubernetesBundle(cfg)
      : how.addressing === "loopback"
        ? // Grafana on the same host reads the dashboards where this export puts them.
          renderBundle(cfg, { addressing: loopbackAddressing(cfg), grafanaDashboardsDir: join(how.out, BUNDLE_PATHS.grafanaDashboards) })
        : renderBundle(cfg);
  return [
    ...bundle,
    ...deploymentRecord(cfg, bundle),
    { path: GUIDE_FILE, content: integrationGuide(stack, cfg, bundle, cfg.platform === "kubernetes" ? "container" : how.addressing) },
  ];
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
  addressing?: string;
  force?: boolean;
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
  return {
    stack,
    cfg: withConfigHint(io, file, () => {
      const raw = readStackFile(file);
      // The bundle never holds Grafana's admin password (Grafana reads it from a secret at deploy
      // time), so exporting a stack does not ask for one.
      const secretKeys = [...new Set([...raw.secretKeys, GRAFANA_PASSWORD_SECRET])];
      return validateStackConfig({ ...raw, secretKeys }, basename(file));
    }),
  };
}

/** The `export` command's work: load the stack file, render, write only what changed, never over a hand edit unless forced. */
export async function runExport(io: CliIo, flags: ExportFlags): Promise<void> {
  const progress = progressWriter(io, flags.quiet);
  const addressing = flags.addressing ?? "container";
  if (addressing !== "container" && addressing !== "loopback") {
    throw new UsageError(`--addressing "${addressing}" is not one of container, loopback`, "use --addressing container (services reach each other by name) or loopback (127.0.0.1 and the configured ports)");
  }
  const { stack, cfg } = await loadConfig(io, flags);
  if (addressing === "loopback" && cfg.platform !== "docker") {
    throw new UsageError(`--addressing loopback renders a Docker-platform stack for processes on one host; ${stack} is a ${cfg.platform} stack`, "drop --addressing for a Kubernetes stack");
  }
  const out = resolve(io.cwd, flags.out);
  progress(`rendering stack ${stack} (${cfg.platform}, ${addressing} addressing)`);
  for (const warning of configWarnings(cfg)) io.stderr.write(`warning: ${warning}\n`);
  const files = exportFiles(stack, cfg, addressing === "loopback" ? { addressing: "loopback", out } : { addressing: "container" });
  const before = await filesBelow(out);
  const onDisk = new Map<string, string>();
  for (const f of files) {
    const current = await readFile(join(out, f.path), "utf8").catch(() => undefined);
    if (current !== undefined) onDisk.set(f.path, current);
  }
  const edited = changedSinceExport(files, onDisk, await readManifest(out));
  if (edited.length > 0 && !flags.force) {
    throw new CliError(
      `${edited.length} file(s) in ${out} changed since the last export and would be overwritten: ${edited.slice(0, 5).join(", ")}${edited.length > 5 ? ", ..." : ""}`,
      "move the change into the stack file (the source of these files) and rerun, or rerun with --force to overwrite",
    );
  }
  let changed = 0;
  try {
    for (const f of files) {
      if (onDisk.get(f.path) === f.content) continue;
      const path = join(out, f.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, f.content);
      changed += 1;
    }
    await mkdir(out, { recursive: true });
    await writeFile(join(out, MANIFEST_FILE), manifestFor(files));
  } catch (err: unknown) {
    throw new CliError(`cannot write into ${out}: ${err instanceof Error ? err.message : String(err)}`, "choose a writable --out directory");
  }
  progress(`wrote ${files.length} files to ${out} (${changed} changed${edited.length > 0 ? `, ${edited.length} edited by hand overwritten (--force)` : ""})`);
  const ours = new Set([...files.map((f) => f.path), MANIFEST_FILE]);
  const stale = before.filter((p) => !ours.has(p)).sort();
  if (stale.length > 0) {
    io.stderr.write(`note: ${stale.length} file(s) in ${out} are not part of this export (${stale.slice(0, 5).join(", ")}${stale.length > 5 ? ", ..." : ""}); remove them if an earlier export left them\n`);
  }
}
