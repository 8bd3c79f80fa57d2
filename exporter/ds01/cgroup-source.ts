import { promises as fs } from "node:fs";
import path from "node:path";
import { readRegularFile } from "../core/regular-file";
import type { Source } from "../core/source";

/** One user's DS01 slice: `ds01.slice/ds01-<group>.slice/ds01-<group>-<user>.slice`. */
export interface UserSliceUsage {
  readonly group: string;
  /** The user as the slice name has it (sanitized); the collector maps it back to the login name. */
  readonly sliceUser: string;
  /** cpu.stat usage_usec / 1e6; undefined when the slice has no readable cpu.stat. */
  readonly cpuSeconds: number | undefined;
  /** memory.current; undefined when the slice has no readable memory.current. */
  readonly memoryBytes: number | undefined;
}

export interface CgroupSourceOptions {
  /** The cgroup v2 mount, e.g. /sys/fs/cgroup. */
  readonly root: string;
  /** Slices read at most (groups and users together). Default 10,000. */
  readonly maxSlices?: number;
  /** Source name in ds01_exporter_source_*; default "cgroup". */
  readonly name?: string;
}

const DS01_SLICE = "ds01.slice";
const GROUP_SLICE = /^ds01-(.+)\.slice$/;

/** `usage_usec` of a cgroup v2 cpu.stat, in seconds; undefined when the line is missing or not a number. */
export function cpuStatSeconds(text: string): number | undefined {
  const m = /^usage_usec (\d+)$/m.exec(text);
  return m ? Number(m[1]) / 1e6 : undefined;
}

/** A cgroup v2 single-number file (memory.current); undefined when it is not one non-negative integer. */
export function cgroupNumber(text: string): number | undefined {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** cpu.stat and memory.current are a few hundred bytes; anything near this is not a cgroup file. */
const CGROUP_FILE_MAX_BYTES = 64 * 1024;

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return (await readRegularFile(file, `cgroup file ${file}`, CGROUP_FILE_MAX_BYTES)).toString("utf8");
  } catch (err: unknown) {
    // A slice removed between listing and reading, or a controller not enabled on it.
    if (err instanceof Error && "code" in err && (err.code === "ENOENT" || err.code === "ENODEV")) return undefined;
    throw err;
  }
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/**
 * Per-user CPU time and memory from DS01's cgroup v2 slices. The ds01.slice must exist (else
 * the mount is wrong and the source is down); a user slice without cpu.stat or memory.current
 * reports what it has.
 */
export class CgroupSource implements Source<readonly UserSliceUsage[]> {
  readonly name: string;
  private readonly maxSlices: number;

  constructor(private readonly opts: CgroupSourceOptions) {
    this.name = opts.name ?? "cgroup";
    this.maxSlices = opts.maxSlices ?? 10_000;
  }

  async read(): Promise<readonly UserSliceUsage[]> {
    const top = path.join(this.opts.root, DS01_SLICE);
    const stat = await fs.stat(top).catch((err: unknown) => {
      throw new Error(`no ${DS01_SLICE} under ${this.opts.root} (${err instanceof Error && "code" in err ? String(err.code) : "unreadable"}): is it the cgroup v2 mount?`);
    });
    if (!stat.isDirectory()) throw new Error(`${top} is not a directory`);
    const usage: UserSliceUsage[] = [];
    let slices = 0;
    for (const groupDir of await subdirs(top)) {
      const group = GROUP_SLICE.exec(groupDir)?.[1];
      if (!group) continue;
      const prefix = `ds01-${group}-`;
      for (const userDir of await subdirs(path.join(top, groupDir))) {
        if (!userDir.startsWith(prefix) || !userDir.endsWith(".slice")) continue;
        if (++slices > this.maxSlices) throw new Error(`more than ${this.maxSlices} user slices under ${top}`);
        const sliceUser = userDir.slice(prefix.length, -".slice".length);
        if (sliceUser === "") continue;
        const dir = path.join(top, groupDir, userDir);
        const [cpu, memory] = await Promise.all([readOptional(path.join(dir, "cpu.stat")), readOptional(path.join(dir, "memory.current"))]);
        usage.push({
          group,
          sliceUser,
          cpuSeconds: cpu === undefined ? undefined : cpuStatSeconds(cpu),
          memoryBytes: memory === undefined ? undefined : cgroupNumber(memory),
        });
      }
    }
    return usage;
  }

  async close(): Promise<void> {}
}

export function createCgroupSource(opts: CgroupSourceOptions): CgroupSource {
  return new CgroupSource(opts);
}
