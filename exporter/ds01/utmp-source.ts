import { readRegularFile } from "../core/regular-file";
import type { Source } from "../core/source";

/**
 * The utmp database (utmp(5)) as glibc writes it on x86_64 and aarch64: fixed 384-byte records,
 * little-endian. Offsets follow bits/utmp.h: `short ut_type` at 0 (two bytes of padding follow),
 * `pid_t ut_pid` at 4, `char ut_line[32]` at 8, `char ut_id[4]` at 40, `char ut_user[32]` at 44,
 * `char ut_host[256]` at 76, then exit status, session, tv and addr_v6 (unused here).
 */
export const UTMP_RECORD_BYTES = 384;
export const UTMP_OFFSETS = { type: 0, pid: 4, line: 8, id: 40, user: 44, host: 76, session: 336, tvSec: 340, tvUsec: 344, addrV6: 348 } as const;
export const UTMP_FIELD_BYTES = { line: 32, id: 4, user: 32, host: 256 } as const;
/** ut_type values: EMPTY 0 .. ACCOUNTING 9; a login session is USER_PROCESS. */
export const USER_PROCESS = 7;
const MAX_UT_TYPE = 9;

export interface UtmpRecord {
  readonly type: number;
  readonly pid: number;
  readonly line: string;
  readonly user: string;
  readonly host: string;
}

/** Login sessions per user name. */
export type SessionCounts = ReadonlyMap<string, number>;

export interface UtmpSourceOptions {
  /** The utmp file, e.g. /var/run/utmp. */
  readonly path: string;
  /** Larger files are refused unread. Default 4 MiB (over 10,000 records). */
  readonly maxBytes?: number;
  /** Source name in ds01_exporter_source_*; default "utmp". */
  readonly name?: string;
}

/** A fixed-size, NUL-padded C string field (not necessarily NUL-terminated when full). */
function cString(buf: Buffer, offset: number, length: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString("utf8", offset, end === -1 || end > offset + length ? offset + length : end);
}

/**
 * Parses a whole utmp file. Throws on a size that is not a whole number of records (a
 * truncated or foreign file) and on a record whose type no utmp writer uses.
 */
export function parseUtmp(buf: Buffer): UtmpRecord[] {
  if (buf.length % UTMP_RECORD_BYTES !== 0) {
    throw new Error(`utmp size ${buf.length} is not a multiple of ${UTMP_RECORD_BYTES}-byte records (truncated or not a utmp file)`);
  }
  const records: UtmpRecord[] = [];
  for (let at = 0; at < buf.length; at += UTMP_RECORD_BYTES) {
    const type = buf.readInt16LE(at + UTMP_OFFSETS.type);
    if (type < 0 || type > MAX_UT_TYPE) throw new Error(`utmp record ${at / UTMP_RECORD_BYTES} has type ${type}, not 0-${MAX_UT_TYPE} (not a utmp file)`);
    records.push({
      type,
      pid: buf.readInt32LE(at + UTMP_OFFSETS.pid),
      line: cString(buf, at + UTMP_OFFSETS.line, UTMP_FIELD_BYTES.line),
      user: cString(buf, at + UTMP_OFFSETS.user, UTMP_FIELD_BYTES.user),
      host: cString(buf, at + UTMP_OFFSETS.host, UTMP_FIELD_BYTES.host),
    });
  }
  return records;
}

/** USER_PROCESS records per user, as `who` lists them (records without a user name are skipped). */
export function loginSessions(records: readonly UtmpRecord[]): SessionCounts {
  const counts = new Map<string, number>();
  for (const r of records) {
    if (r.type !== USER_PROCESS || r.user === "") continue;
    counts.set(r.user, (counts.get(r.user) ?? 0) + 1);
  }
  return counts;
}

/**
 * Login sessions from the utmp file, read whole on every scrape (a few KiB). Unlike `who`, no
 * record is dropped for a dead pid: in a container the host's pids cannot be checked.
 */
export class UtmpSource implements Source<SessionCounts> {
  readonly name: string;
  private readonly maxBytes: number;

  constructor(private readonly opts: UtmpSourceOptions) {
    this.name = opts.name ?? "utmp";
    this.maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
  }

  async read(): Promise<SessionCounts> {
    return loginSessions(parseUtmp(await readRegularFile(this.opts.path, `utmp ${this.opts.path}`, this.maxBytes)));
  }

  async close(): Promise<void> {}
}

export function createUtmpSource(opts: UtmpSourceOptions): UtmpSource {
  return new UtmpSource(opts);
}
