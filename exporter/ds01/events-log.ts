import { isUtf8 } from "node:buffer";
import { read as readFd, promises as fs } from "node:fs";
import { promisify } from "node:util";
import * as z from "../core/zod";
import { log } from "../core/log";
import { openRegularFile } from "../core/regular-file";
import type { Source } from "../core/source";
import { EventLineScanner, FieldKind, LineVerdict } from "./event-line";
import { runScanChild, scanTimeoutMs, serveScanChild, type ScanChild, type ScanChildUsage } from "./scan-child";
import { TimeWindow, type TimeWindowState } from "./time-window";

export interface EventsLogOptions {
  /** DS01's events log, e.g. /var/log/ds01/events.jsonl. */
  readonly path: string;
  /** Window length. Default 24 h. */
  readonly windowMs?: number;
  /** Lines longer than this are skipped without being held in memory. Default 64 KiB (DS01 writes < 4 KB). */
  readonly maxLineBytes?: number;
  /** Distinct event types kept; events of further types are dropped (and counted). Default 500. */
  readonly maxEventTypes?: number;
  /** Timestamps further ahead of the clock than this are bad. Default 5 min. */
  readonly maxFutureSkewMs?: number;
  /** Read size. Default 1 MiB. */
  readonly chunkBytes?: number;
  /** Clock in ms; tests move it. */
  readonly now?: () => number;
  /** Source name in ds01_exporter_source_*; default "events". */
  readonly name?: string;
  /** Reads of many unread bytes go to this child process (scan-child.ts); without it every read runs here. */
  readonly largeReads?: ScanChild;
}

/** Events per event_type inside the window; a type seen before and now at zero stays, at 0. */
export type EventCounts = ReadonlyMap<string, number>;

export interface EventsLogStats {
  bytesRead: number;
  lines: number;
  counted: number;
  /** Older than the window when read. */
  outsideWindow: number;
  notJson: number;
  invalidUtf8: number;
  oversized: number;
  badTimestamp: number;
  badEventType: number;
  droppedTypes: number;
  truncations: number;
  rotations: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const nonNegativeInt = z.int().check(z.gte(0));
/** Every statistic, as a child's read hands it back; `satisfies` makes a new one in EventsLogStats fail to compile until it is listed here. */
const statsShape = {
  bytesRead: nonNegativeInt,
  lines: nonNegativeInt,
  counted: nonNegativeInt,
  outsideWindow: nonNegativeInt,
  notJson: nonNegativeInt,
  invalidUtf8: nonNegativeInt,
  oversized: nonNegativeInt,
  badTimestamp: nonNegativeInt,
  badEventType: nonNegativeInt,
  droppedTypes: nonNegativeInt,
  truncations: nonNegativeInt,
  rotations: nonNegativeInt,
} satisfies Record<keyof EventsLogStats, typeof nonNegativeInt>;

/**
 * What a read leaves behind, besides the caches: all a read in another process must hand back.
 * As a frame (scan-child.ts) the header holds the lengths and the bytes follow: the partial
 * line, then each window's stream bytes and its late timestamps (as float64 bytes).
 */
const readStateHeaderSchema = z.object({
  offset: nonNegativeInt,
  partial: nonNegativeInt,
  skipping: z.boolean(),
  evictedThisRead: z.boolean(),
  stats: z.object(statsShape),
  windows: z.array(z.tuple([z.string(), z.object({ bytes: nonNegativeInt, late: nonNegativeInt, count: nonNegativeInt, oldest: z.number(), newest: z.number() })])),
});
type ReadStateHeader = z.infer<typeof readStateHeaderSchema>;

interface ReadState {
  readonly offset: number;
  readonly partial: Uint8Array;
  readonly skipping: boolean;
  readonly evictedThisRead: boolean;
  readonly stats: EventsLogStats;
  readonly windows: ReadonlyArray<readonly [string, TimeWindowState]>;
}

/** What a child is asked, in its frame's header: the reader's settings, the clock of this read, where the range ends, and the state. */
const childRequestSchema = z.object({
  options: z.object({ windowMs: z.number(), maxLineBytes: nonNegativeInt, maxEventTypes: nonNegativeInt, maxFutureSkewMs: z.number(), chunkBytes: z.int().check(z.gte(1)) }),
  now: z.number(),
  end: nonNegativeInt,
  state: readStateHeaderSchema,
});
type ChildRequest = z.infer<typeof childRequestSchema>;

const asBytes = (a: Float64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function stateFrame(state: ReadState): { header: ReadStateHeader; body: Uint8Array[] } {
  const body: Uint8Array[] = [state.partial];
  for (const [, w] of state.windows) body.push(w.bytes, asBytes(w.late));
  return {
    header: {
      offset: state.offset,
      partial: state.partial.length,
      skipping: state.skipping,
      evictedThisRead: state.evictedThisRead,
      stats: state.stats,
      windows: state.windows.map(([type, w]) => [type, { bytes: w.bytes.length, late: w.late.length, count: w.count, oldest: w.oldest, newest: w.newest }]),
    },
    body,
  };
}

/**
 * Arrays for a state frame's bytes, in the frame's order, and the state they make once filled.
 * Each window's stream gets a sixteenth more room than its bytes, so the first events appended
 * after the read do not regrow it.
 */
function stateArrays(header: ReadStateHeader): { arrays: Uint8Array[]; state: ReadState } {
  const partial = new Uint8Array(header.partial);
  const arrays: Uint8Array[] = [partial];
  const windows = header.windows.map(([type, w]): [string, TimeWindowState] => {
    const bytes = new Uint8Array(w.bytes + Math.max(64, w.bytes >> 4)).subarray(0, w.bytes);
    const late = new Float64Array(w.late);
    arrays.push(bytes, asBytes(late));
    return [type, { bytes, late, count: w.count, oldest: w.oldest, newest: w.newest }];
  });
  const { offset, skipping, evictedThisRead, stats } = header;
  return { arrays, state: { offset, partial, skipping, evictedThisRead, stats, windows } };
}

const usageSchema = z.object({ wallMs: z.number(), cpuMs: z.number(), peakRssBytes: z.number() });
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/;
const EVENT_TYPE = /^[\w.:-]{1,128}$/;
const NEWLINE = 0x0a;
// Module-local copies: reading an imported enum goes through a getter on every line.
const VERDICT_OBJECT = LineVerdict.Object;
const VERDICT_FALLBACK = LineVerdict.Fallback;
const FIELD_STRING = FieldKind.String;

/**
 * Counts DS01 events per type over a true sliding window. The log is read incrementally from
 * the last offset; a file that shrank (truncated in place) is read again from its start, and a
 * new inode at the path (rotated) is read from its start after the old file's tail is drained.
 * Events already counted stay counted across both: they still happened inside the window.
 * Lines that are not JSON objects with a parseable timestamp and event_type are skipped.
 */
export class EventsLog implements Source<EventCounts> {
  readonly name: string;
  readonly stats: EventsLogStats = {
    bytesRead: 0,
    lines: 0,
    counted: 0,
    outsideWindow: 0,
    notJson: 0,
    invalidUtf8: 0,
    oversized: 0,
    badTimestamp: 0,
    badEventType: 0,
    droppedTypes: 0,
    truncations: 0,
    rotations: 0,
  };

  private readonly windowMs: number;
  private readonly maxLine: number;
  private readonly maxTypes: number;
  private readonly maxSkew: number;
  private readonly chunkBytes: number;
  private readonly now: () => number;
  private readonly windows = new Map<string, TimeWindow>();

  private file: fs.FileHandle | undefined;
  private ino = -1;
  private offset = 0;
  /** The start of a line whose end has not been read yet. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Inside a line already known to be oversized: skip to its end. */
  private skipping = false;
  private reading: Promise<EventCounts> | undefined;
  private readonly scanner = new EventLineScanner();
  private readonly timestamps = new TimestampParser();
  private readonly eventTypes = new EventTypeNames();
  private cutoff = 0;
  /** Eviction runs at most once per read, so a flood of new types costs one pass, not one per line. */
  private evictedThisRead = false;
  /** The last read done by a child process: what it cost there. */
  lastChildRead: ScanChildUsage | undefined;

  constructor(private readonly opts: EventsLogOptions) {
    this.name = opts.name ?? "events";
    this.windowMs = opts.windowMs ?? DAY_MS;
    this.maxLine = opts.maxLineBytes ?? 64 * 1024;
    this.maxTypes = opts.maxEventTypes ?? 500;
    this.maxSkew = opts.maxFutureSkewMs ?? 5 * 60 * 1000;
    this.chunkBytes = opts.chunkBytes ?? 1024 * 1024;
    this.now = opts.now ?? Date.now;
  }

  read(): Promise<EventCounts> {
    if (!this.reading) {
      this.reading = this.readOnce().finally(() => {
        this.reading = undefined;
      });
    }
    return this.reading;
  }

  async close(): Promise<void> {
    await this.file?.close().catch(() => undefined);
    this.file = undefined;
  }

  /** Events of types past the type cap, since the source was created. */
  readonly dropped = (): number => this.stats.droppedTypes;

  /**
   * At the type cap, types whose events have all left the window make room: without this, old
   * types would hold the cap for good and a new, legitimate type would never be counted.
   */
  private evictIdleTypes(): void {
    this.evictedThisRead = true;
    for (const [type, window] of this.windows) {
      window.expire(this.cutoff);
      if (window.count === 0) this.windows.delete(type);
    }
  }

  private async readOnce(): Promise<EventCounts> {
    const now = this.now();
    this.cutoff = now - this.windowMs;
    this.evictedThisRead = false;
    // Expired first, so what the windows hold spans one window and what is read joins it.
    for (const window of this.windows.values()) window.expire(this.cutoff);
    await this.catchUp(now);
    const counts = new Map<string, number>();
    for (const [type, window] of this.windows) {
      window.expire(this.cutoff);
      counts.set(type, window.count);
    }
    return counts;
  }

  private async catchUp(now: number): Promise<void> {
    if (!this.file) {
      // Throws ENOENT while the log does not exist: the source is down until it appears.
      await this.openCurrent();
    }
    // The open file and the path are looked at together: one round trip to the file system a
    // scrape, not two, while the log has not changed.
    const [own, atPath] = await Promise.allSettled([this.file!.stat(), fs.stat(this.opts.path)]);
    if (own.status === "rejected") throw own.reason;
    await this.drain(now, own.value.size);
    if (atPath.status === "rejected") {
      // Rotated away and not yet recreated: the old file is all there is for now.
      if ((atPath.reason as NodeJS.ErrnoException).code === "ENOENT") return;
      throw atPath.reason;
    }
    const current = atPath.value;
    if (current.ino !== this.ino) {
      this.stats.rotations++;
      await this.drain(now);
      this.endLine(now);
      await this.file?.close().catch(() => undefined);
      this.file = undefined;
      await this.openCurrent();
      await this.drain(now);
    }
  }

  private async openCurrent(): Promise<void> {
    const { file, stat } = await openRegularFile(this.opts.path, `events log ${this.opts.path}`);
    this.file = file;
    this.ino = stat.ino;
    this.offset = 0;
    this.resetLine();
  }

  /** Reads from the offset to the end of the open file (its size as just seen, if known). */
  private async drain(now: number, knownSize?: number): Promise<void> {
    const file = this.file;
    if (!file) return;
    const size = knownSize ?? (await file.stat()).size;
    if (size < this.offset) {
      this.stats.truncations++;
      this.offset = 0;
      this.resetLine();
    }
    if (this.offset >= size) return;
    const child = this.opts.largeReads;
    if (child && size - this.offset > child.thresholdBytes && (await this.readInChild(child, file.fd, size, now))) return;
    await this.readRange((buf, want, position) => file.read(buf, 0, want, position).then((r) => r.bytesRead), size, now);
  }

  /**
   * Hands [offset, size) to a child process and takes its state back; false (state untouched,
   * one line logged) if the child fails, so the caller reads the range itself.
   */
  private async readInChild(child: ScanChild, fd: number, size: number, now: number): Promise<boolean> {
    const state = stateFrame(this.readState());
    const request: ChildRequest = {
      options: { windowMs: this.windowMs, maxLineBytes: this.maxLine, maxEventTypes: this.maxTypes, maxFutureSkewMs: this.maxSkew, chunkBytes: this.chunkBytes },
      now,
      end: size,
      state: state.header,
    };
    try {
      let answer: ReadState | undefined;
      const reply = await runScanChild(child, fd, { header: request, body: state.body }, child.timeoutMs ?? scanTimeoutMs(size - this.offset), (result) => {
        const arrays = stateArrays(readStateHeaderSchema.parse(result));
        answer = arrays.state;
        return arrays.arrays;
      });
      if (!answer) throw new Error("no state in the answer");
      if (answer.offset !== size) throw new Error(`child read to ${answer.offset}, not ${size}`);
      const windows = new Map(answer.windows.map(([type, window]) => [type, TimeWindow.restore(window, true)]));
      const usage = usageSchema.parse(reply.usage);
      const bytes = size - this.offset;
      this.restoreReadState(answer, windows);
      this.lastChildRead = usage;
      log("info", "events log read by a child process", { path: this.opts.path, bytes, ms: Math.round(usage.wallMs), peakRssMb: Math.round(usage.peakRssBytes / 1048576) });
      return true;
    } catch (err: unknown) {
      log("warn", "events log: reading in this process instead of a child", { path: this.opts.path, bytes: size - this.offset, error: err instanceof Error ? err.message : String(err) });
      return false;
    }
  }

  private readState(): ReadState {
    return {
      offset: this.offset,
      partial: Buffer.concat(this.partial, this.partialBytes),
      skipping: this.skipping,
      evictedThisRead: this.evictedThisRead,
      stats: { ...this.stats },
      windows: [...this.windows].map(([type, window]) => [type, window.state()]),
    };
  }

  /** Takes a read's state; the windows come restored (and checked) already, in the order they were made. */
  private restoreReadState(state: ReadState, windows: Map<string, TimeWindow>): void {
    this.offset = state.offset;
    this.partial = state.partial.length > 0 ? [Buffer.from(state.partial)] : [];
    this.partialBytes = state.partial.length;
    this.skipping = state.skipping;
    this.evictedThisRead = state.evictedThisRead;
    Object.assign(this.stats, state.stats);
    this.windows.clear();
    for (const [type, window] of windows) this.windows.set(type, window);
  }

  /** The child's side: the request's state taken, [offset, end) of the file at `fd` read, the state handed back as a frame. */
  static async readForParent(request: { header: unknown; body: Buffer }, fd: number): Promise<{ header: ReadStateHeader; body: Uint8Array[] }> {
    const { options, now, end, state: header } = childRequestSchema.parse(request.header);
    const { arrays, state } = stateArrays(header);
    let at = 0;
    for (const array of arrays) {
      if (at + array.length > request.body.length) throw new Error("request shorter than its header declares");
      array.set(request.body.subarray(at, at + array.length));
      at += array.length;
    }
    if (at !== request.body.length) throw new Error("request longer than its header declares");
    const reader = new EventsLog({ path: `descriptor ${fd}`, ...options });
    reader.restoreReadState(state, new Map(state.windows.map(([type, window]) => [type, TimeWindow.restore(window, true)])));
    reader.cutoff = now - reader.windowMs;
    const pread = promisify(readFd);
    await reader.readRange((buf, want, position) => pread(fd, buf, 0, want, position).then((r) => r.bytesRead), end, now);
    return stateFrame(reader.readState());
  }

  /** Reads from the offset to `size` with `read`. */
  private async readRange(read: (buf: Buffer, want: number, position: number) => Promise<number>, size: number, now: number): Promise<void> {
    // Sized to what is new and dropped after the read: the first read of a large log needs
    // the full chunk, a scrape's read of a few appended lines does not keep a megabyte alive.
    const chunk = Buffer.allocUnsafe(Math.min(this.chunkBytes, size - this.offset));
    while (this.offset < size) {
      const want = Math.min(chunk.length, size - this.offset);
      const bytesRead = await read(chunk, want, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      this.stats.bytesRead += bytesRead;
      this.scan(chunk.subarray(0, bytesRead), now);
    }
    this.scanner.release();
  }

  private scan(buf: Buffer, now: number): void {
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, start);
      if (nl < 0) break;
      if (this.skipping) {
        this.skipping = false;
      } else if (this.partialBytes > 0) {
        this.partial.push(buf.subarray(start, nl));
        const line = Buffer.concat(this.partial, this.partialBytes + (nl - start));
        this.resetLine();
        this.line(line, 0, line.length, now);
      } else {
        this.line(buf, start, nl, now);
      }
      start = nl + 1;
    }
    if (start < buf.length && !this.skipping) {
      const rest = buf.length - start;
      if (this.partialBytes + rest > this.maxLine) {
        this.stats.lines++;
        this.stats.oversized++;
        this.resetLine();
        this.skipping = true;
      } else {
        // Copied: the read buffer is reused for the next chunk.
        this.partial.push(Buffer.from(buf.subarray(start)));
        this.partialBytes += rest;
      }
    }
  }

  /** A file that ended without a newline ends its last line when it is rotated away. */
  private endLine(now: number): void {
    if (this.partialBytes > 0 && !this.skipping) {
      const line = Buffer.concat(this.partial, this.partialBytes);
      this.line(line, 0, line.length, now);
    }
    this.resetLine();
  }

  private resetLine(): void {
    this.partial = [];
    this.partialBytes = 0;
    this.skipping = false;
  }

  private line(buf: Buffer, start: number, end: number, now: number): void {
    if (end > start && buf[end - 1] === 0x0d) end--;
    if (end === start) return;
    this.stats.lines++;
    if (end - start > this.maxLine) {
      this.stats.oversized++;
      return;
    }
    const scanner = this.scanner;
    const verdict = scanner.scan(buf, start, end);
    // A line that is not plain JSON gets its UTF-8 checked too, so bad bytes are reported as such.
    if (scanner.high || verdict !== VERDICT_OBJECT) {
      if (!isUtf8(buf.subarray(start, end))) {
        this.stats.invalidUtf8++;
        return;
      }
    }
    if (verdict === VERDICT_FALLBACK) {
      this.parsedLine(buf.toString("utf8", start, end), now);
      return;
    }
    if (verdict !== VERDICT_OBJECT) {
      this.stats.notJson++;
      return;
    }
    const eventType = scanner.typeKind === FIELD_STRING ? this.eventTypes.name(buf, scanner.typeStart, scanner.typeEnd) : undefined;
    if (eventType === undefined) {
      this.stats.badEventType++;
      return;
    }
    if (scanner.tsKind !== FIELD_STRING) {
      this.stats.badTimestamp++;
      return;
    }
    this.count(eventType, this.timestamps.parse(buf, scanner.tsStart, scanner.tsEnd), now);
  }

  /** The slow path, for lines the byte scanner leaves to JSON.parse. */
  private parsedLine(text: string, now: number): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.stats.notJson++;
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.stats.notJson++;
      return;
    }
    const { timestamp, event_type: eventType } = value as { timestamp?: unknown; event_type?: unknown };
    if (typeof eventType !== "string" || !EVENT_TYPE.test(eventType)) {
      this.stats.badEventType++;
      return;
    }
    if (typeof timestamp !== "string") {
      this.stats.badTimestamp++;
      return;
    }
    this.count(eventType, parseIsoTimestamp(timestamp), now);
  }

  private count(eventType: string, t: number, now: number): void {
    if (!Number.isFinite(t) || t > now + this.maxSkew) {
      this.stats.badTimestamp++;
      return;
    }
    if (t <= this.cutoff) {
      this.stats.outsideWindow++;
      return;
    }
    let window = this.windows.get(eventType);
    if (!window) {
      if (this.windows.size >= this.maxTypes && !this.evictedThisRead) this.evictIdleTypes();
      if (this.windows.size >= this.maxTypes) {
        this.stats.droppedTypes++;
        return;
      }
      window = new TimeWindow();
      this.windows.set(eventType, window);
    }
    window.add(t);
    this.stats.counted++;
  }
}

/** 1 for the bytes an event type may hold: word characters, dots, colons, dashes. */
const EVENT_TYPE_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x3a || c === 0x2d;
  EVENT_TYPE_BYTE[c] = ok ? 1 : 0;
}

/**
 * Event-type strings by their bytes: a log holds a handful of types millions of times, so each
 * is checked and decoded once, and then found by its length and two of its bytes and confirmed
 * byte for byte, without hashing or decoding the line's bytes again.
 */
export class EventTypeNames {
  private readonly byShape = new Map<number, Array<{ bytes: Buffer; name: string }>>();
  private size = 0;

  /** The type's name, or undefined if the bytes are not a valid event type (1..128 allowed bytes). */
  name(buf: Buffer, start: number, end: number): string | undefined {
    const len = end - start;
    if (len <= 0 || len > 128) return undefined;
    const shape = (len << 16) | (buf[start + (len >> 1)]! << 8) | buf[end - 1]!;
    const known = this.byShape.get(shape);
    if (known) {
      for (let k = 0; k < known.length; k++) if (sameBytes(known[k]!.bytes, buf, start)) return known[k]!.name;
    }
    for (let i = start; i < end; i++) if (EVENT_TYPE_BYTE[buf[i]!] !== 1) return undefined;
    const name = buf.toString("latin1", start, end);
    // Bounded like the windows themselves; past the bound a type simply decodes again.
    if (this.size < 4096) {
      this.size++;
      const entry = { bytes: Buffer.from(buf.subarray(start, end)), name };
      if (known) known.push(entry);
      else this.byShape.set(shape, [entry]);
    }
    return name;
  }
}

/** Whether buf holds a's bytes at start; the caller has matched the lengths. Compared from the end, where types of one family differ. */
function sameBytes(a: Buffer, buf: Buffer, start: number): boolean {
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== buf[start + i]) return false;
  return true;
}

/** An ISO 8601 timestamp with a zone (Z or an offset) in ms; NaN if it is not one. */
function parseIsoTimestamp(text: string): number {
  return ISO_UTC.test(text) ? Date.parse(text) : NaN;
}

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` from bytes. Events come in order, so nearly every
 * line falls in the same hour as the one before: the last hour's 13 bytes and its start are
 * kept, and such a line costs a byte comparison and six digits. Other hours are looked up in a
 * small cache; anything else goes through Date.parse, so the result is always Date.parse's.
 */
export class TimestampParser {
  private readonly hours = new Map<number, number>();
  /** "YYYY-MM-DDTHH" of the last hour seen, and that hour's start in ms (NaN for an invalid date). */
  private readonly lastHour = new Uint8Array(13);
  private lastHourMs = 0;
  private haveLastHour = false;

  parse(buf: Buffer, start: number, end: number): number {
    const len = end - start;
    if (len < 20 || len > 30 || buf[end - 1] !== 0x5a) return parseIsoTimestamp(buf.toString("utf8", start, end));
    let base: number;
    if (this.haveLastHour && this.sameHour(buf, start)) {
      base = this.lastHourMs;
    } else {
      const hourStart = this.hourStart(buf, start);
      if (hourStart === undefined) return parseIsoTimestamp(buf.toString("latin1", start, end));
      base = hourStart;
    }
    // ":MM:SS", then nothing or "." and 1..9 digits before the Z.
    const m1 = buf[start + 14]! - 0x30;
    const m2 = buf[start + 15]! - 0x30;
    const s1 = buf[start + 17]! - 0x30;
    const s2 = buf[start + 18]! - 0x30;
    if (buf[start + 13] !== 0x3a || buf[start + 16] !== 0x3a || m1 >>> 0 > 5 || m2 >>> 0 > 9 || s1 >>> 0 > 5 || s2 >>> 0 > 9) {
      return parseIsoTimestamp(buf.toString("latin1", start, end));
    }
    let ms = 0;
    if (len > 20) {
      if (buf[start + 19] !== 0x2e || len === 21) return parseIsoTimestamp(buf.toString("latin1", start, end));
      // Date.parse keeps milliseconds and drops finer digits: past the third, scale is 0.
      for (let i = start + 20, scale = 100; i < end - 1; i++) {
        const d = buf[i]! - 0x30;
        if (d >>> 0 > 9) return parseIsoTimestamp(buf.toString("latin1", start, end));
        ms += d * scale;
        scale = scale === 1 ? 0 : scale / 10;
      }
    }
    return base + ((m1 * 10 + m2) * 60 + s1 * 10 + s2) * 1000 + ms;
  }

  /** Whether the 13 bytes at start are the last hour's; compared from the end, where hours differ. */
  private sameHour(buf: Buffer, start: number): boolean {
    const last = this.lastHour;
    for (let i = 12; i >= 0; i--) if (buf[start + i] !== last[i]) return false;
    return true;
  }

  /** The start of the hour "YYYY-MM-DDTHH" at start, remembered as the last hour; undefined if not that shape. */
  private hourStart(buf: Buffer, start: number): number | undefined {
    let key = 0;
    for (let i = 0; i < 13; i++) {
      const c = buf[start + i]!;
      if (i === 4 || i === 7) {
        if (c !== 0x2d) return undefined;
      } else if (i === 10) {
        if (c !== 0x54) return undefined;
      } else {
        const d = c - 0x30;
        if (d >>> 0 > 9) return undefined;
        key = key * 10 + d;
      }
    }
    // key is YYYYMMDDHH.
    if (key % 100 > 23) return undefined;
    let base = this.hours.get(key);
    if (base === undefined) {
      base = Date.parse(buf.toString("latin1", start, start + 13) + ":00:00Z");
      if (this.hours.size > 4096) this.hours.clear();
      this.hours.set(key, base);
    }
    for (let i = 0; i < 13; i++) this.lastHour[i] = buf[start + i]!;
    this.lastHourMs = base;
    this.haveLastHour = true;
    return base;
  }
}

export function createEventsLog(opts: EventsLogOptions): EventsLog {
  return new EventsLog(opts);
}

/** In a child started by scan-child.ts: serves the one read it was started for. */
export function serveEventsScan(): void {
  serveScanChild((request, fd) => EventsLog.readForParent(request, fd));
}
