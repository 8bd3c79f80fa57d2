import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

/** One utmp record as glibc's pututline() writes it on x86_64 (bits/utmp.h; 384 bytes, little-endian). */
export interface UtmpEntry {
  readonly type: number;
  readonly pid: number;
  readonly line?: string;
  readonly id?: string;
  readonly user?: string;
  readonly host?: string;
  readonly session?: number;
  readonly tvSec?: number;
}

/** ut_type values from bits/utmp.h. */
export const UT = { EMPTY: 0, RUN_LVL: 1, BOOT_TIME: 2, INIT_PROCESS: 5, LOGIN_PROCESS: 6, USER_PROCESS: 7, DEAD_PROCESS: 8 } as const;

/**
 * Writes the record byte by byte at glibc's offsets, independently of the exporter's parser
 * (whose constants it must not share, or a wrong offset would pass on both sides).
 */
export function utmpRecord(e: UtmpEntry): Buffer {
  const b = Buffer.alloc(384);
  b.writeInt16LE(e.type, 0);
  b.writeInt32LE(e.pid, 4);
  b.write(e.line ?? "", 8, 32, "utf8");
  b.write(e.id ?? "", 40, 4, "utf8");
  b.write(e.user ?? "", 44, 32, "utf8");
  b.write(e.host ?? "", 76, 256, "utf8");
  b.writeInt32LE(e.session ?? 0, 336);
  b.writeInt32LE(e.tvSec ?? 1_760_000_000, 340);
  b.writeInt32LE(0, 344);
  // ut_addr_v6[0] = 127.0.0.1 in network order, as sshd records a loopback login.
  b.writeUInt32BE(0x7f000001, 348);
  return b;
}

export async function writeUtmp(file: string, entries: readonly UtmpEntry[]): Promise<void> {
  await writeFile(file, Buffer.concat(entries.map(utmpRecord)));
}

/** `<group>.members` files: members one a line. */
export async function writeGroupFiles(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
}

/** A cgroup v2-shaped tree: `ds01.slice/ds01-<group>.slice/ds01-<group>-<user>.slice/{cpu.stat,memory.current}`. */
export async function writeUserSlice(
  root: string,
  group: string,
  sliceUser: string,
  files: { usageUsec?: number; memoryCurrent?: number; cpuStat?: string; memory?: string },
): Promise<string> {
  const dir = path.join(root, "ds01.slice", `ds01-${group}.slice`, `ds01-${group}-${sliceUser}.slice`);
  await mkdir(dir, { recursive: true });
  const cpuStat =
    files.cpuStat ??
    (files.usageUsec !== undefined
      ? `usage_usec ${files.usageUsec}\nuser_usec ${Math.floor(files.usageUsec * 0.8)}\nsystem_usec ${Math.ceil(files.usageUsec * 0.2)}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n`
      : undefined);
  if (cpuStat !== undefined) await writeFile(path.join(dir, "cpu.stat"), cpuStat);
  const memory = files.memory ?? (files.memoryCurrent !== undefined ? `${files.memoryCurrent}\n` : undefined);
  if (memory !== undefined) await writeFile(path.join(dir, "memory.current"), memory);
  return dir;
}
