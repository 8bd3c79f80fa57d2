import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

/**
 * Opened without blocking: opening a FIFO with no writer would otherwise park a libuv thread
 * (or, synchronously, the event loop) until someone writes, and the process could not stop.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** What a path that is not a regular file turned out to be, for the error message. */
function kind(stat: Stats): string {
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  if (stat.isSocket()) return "a socket";
  return "not a regular file";
}

/** Why `stat` is not an acceptable file of at most maxBytes, or undefined if it is. */
function problem(what: string, stat: Stats, maxBytes: number): string | undefined {
  if (!stat.isFile()) return `${what} is ${kind(stat)}, not a regular file`;
  if (stat.size > maxBytes) return `${what} is ${stat.size} bytes, over the ${maxBytes} limit`;
  return undefined;
}

/**
 * Opens a file for reading only if it is a regular file of at most maxBytes (symlinks followed,
 * the check made on the opened descriptor, so a swap after the check changes nothing). `what`
 * names the file in errors ("events log /var/log/ds01/events.jsonl"); its contents never appear.
 */
export async function openRegularFile(path: string, what: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ file: FileHandle; stat: Stats }> {
  const file = await open(path, OPEN_FLAGS);
  try {
    const stat = await file.stat();
    const why = problem(what, stat, maxBytes);
    if (why) throw new Error(why);
    return { file, stat };
  } catch (err) {
    await file.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The bytes of a regular file of at most maxBytes; anything else (FIFO, device, directory, too big)
 * throws. Read to end of file, not to the size fstat gave: a file that grew since is read whole
 * (or refused past the limit), and kernel files (cgroupfs, procfs) that report size 0 still read.
 */
export async function readRegularFile(path: string, what: string, maxBytes: number): Promise<Buffer> {
  const { file, stat } = await openRegularFile(path, what, maxBytes);
  try {
    let buf: Buffer = Buffer.alloc(initialSize(stat.size, maxBytes));
    let filled = 0;
    for (;;) {
      if (filled === buf.length) buf = grown(buf, maxBytes, what);
      const { bytesRead } = await file.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buf.subarray(0, filled);
  } finally {
    await file.close().catch(() => undefined);
  }
}

/** Room for the whole file as fstat sees it plus one byte, so end of file is seen without growing. */
function initialSize(statSize: number, maxBytes: number): number {
  return Math.min(Math.max(statSize, 4096), maxBytes) + 1;
}

/** A buffer twice as large holding buf's bytes; past maxBytes + 1 the file is over its limit. */
function grown(buf: Buffer, maxBytes: number, what: string): Buffer {
  if (buf.length > maxBytes) throw new Error(`${what} grew past the ${maxBytes} limit while being read`);
  const next = Buffer.alloc(Math.min(buf.length * 2, maxBytes + 1));
  buf.copy(next);
  return next;
}

/** readRegularFile for the few places that must read synchronously (startup, the simulation's step). */
export function readRegularFileSync(path: string, what: string, maxBytes: number): Buffer {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const stat = fstatSync(fd);
    const why = problem(what, stat, maxBytes);
    if (why) throw new Error(why);
    let buf: Buffer = Buffer.alloc(initialSize(stat.size, maxBytes));
    let filled = 0;
    for (;;) {
      if (filled === buf.length) buf = grown(buf, maxBytes, what);
      const n = readSync(fd, buf, filled, buf.length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return buf.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}
