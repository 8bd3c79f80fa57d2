import { isUtf8 } from "node:buffer";
import { promises as fs } from "node:fs";
import type { Source } from "../core/source";
import { EventLineScanner, FieldKind, LineVerdict } from "./event-line";
import { TimeWindow } from "./time-window";

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
  private readonly chunk: Buffer;
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

  constructor(private readonly opts: EventsLogOptions) {
    this.name = opts.name ?? "events";
    this.windowMs = opts.windowMs ?? DAY_MS;
    this.maxLine = opts.maxLineBytes ?? 64 * 1024;
    this.maxTypes = opts.maxEventTypes ?? 500;
    this.maxSkew = opts.maxFutureSkewMs ?? 5 * 60 * 1000;
    this.chunk = Buffer.allocUnsafe(opts.chunkBytes ?? 1024 * 1024);
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

  private async readOnce(): Promise<EventCounts> {
    const now = this.now();
    this.cutoff = now - this.windowMs;
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
    await this.drain(now);
    let current;
    try {
      current = await fs.stat(this.opts.path);
    } catch (err: unknown) {
      // Rotated away and not yet recreated: the old file is all there is for now.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
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
    const file = await fs.open(this.opts.path, "r");
    try {
      const stat = await file.stat();
      if (!stat.isFile()) throw new Error(`events log ${this.opts.path} is not a regular file`);
      this.file = file;
      this.ino = stat.ino;
      this.offset = 0;
      this.resetLine();
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
  }

  /** Reads from the offset to the end of the open file. */
  private async drain(now: number): Promise<void> {
    const file = this.file;
    if (!file) return;
    const size = (await file.stat()).size;
    if (size < this.offset) {
      this.stats.truncations++;
      this.offset = 0;
      this.resetLine();
    }
    while (this.offset < size) {
      const want = Math.min(this.chunk.length, size - this.offset);
      const { bytesRead } = await file.read(this.chunk, 0, want, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      this.stats.bytesRead += bytesRead;
      this.scan(this.chunk.subarray(0, bytesRead), now);
    }
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
 * is decoded once and then found by a hash of its bytes (and confirmed byte for byte).
 */
class EventTypeNames {
  private readonly byHash = new Map<number, { bytes: Buffer; name: string }>();

  /** The type's name, or undefined if the bytes are not a valid event type (1..128 allowed bytes). */
  name(buf: Buffer, start: number, end: number): string | undefined {
    const len = end - start;
    if (len <= 0 || len > 128) return undefined;
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (EVENT_TYPE_BYTE[c] !== 1) return undefined;
      hash = Math.imul(hash ^ c, 0x01000193);
    }
    const known = this.byHash.get(hash);
    if (known && known.bytes.length === len && sameBytes(known.bytes, buf, start)) return known.name;
    const name = buf.toString("latin1", start, end);
    // Bounded like the windows themselves; a collision simply decodes again.
    if (this.byHash.size < 4096) this.byHash.set(hash, { bytes: Buffer.from(buf.subarray(start, end)), name });
    return name;
  }
}

function digitAt(buf: Buffer, i: number): number {
  return buf[i]! - 0x30;
}

function sameBytes(a: Buffer, buf: Buffer, start: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

/** An ISO 8601 timestamp with a zone (Z or an offset) in ms; NaN if it is not one. */
function parseIsoTimestamp(text: string): number {
  return ISO_UTC.test(text) ? Date.parse(text) : NaN;
}

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` from bytes with the hour's start cached (events come
 * in order, so nearly every line hits the cache); anything else goes through Date.parse, so the
 * result is always Date.parse's.
 */
class TimestampParser {
  private readonly hours = new Map<number, number>();

  parse(buf: Buffer, start: number, end: number): number {
    const len = end - start;
    if (len < 20 || len > 30 || buf[end - 1] !== 0x5a || !this.shapeOk(buf, start, len)) {
      return parseIsoTimestamp(buf.toString("utf8", start, end));
    }
    const hour = digitAt(buf, start + 11) * 10 + digitAt(buf, start + 12);
    const minute = digitAt(buf, start + 14) * 10 + digitAt(buf, start + 15);
    const second = digitAt(buf, start + 17) * 10 + digitAt(buf, start + 18);
    if (hour > 23 || minute > 59 || second > 59) return parseIsoTimestamp(buf.toString("latin1", start, end));
    const key = ((digitAt(buf, start + 0) * 1000 + digitAt(buf, start + 1) * 100 + digitAt(buf, start + 2) * 10 + digitAt(buf, start + 3)) * 100 + digitAt(buf, start + 5) * 10 + digitAt(buf, start + 6)) * 10000 + (digitAt(buf, start + 8) * 10 + digitAt(buf, start + 9)) * 100 + hour;
    let base = this.hours.get(key);
    if (base === undefined) {
      base = Date.parse(buf.toString("latin1", start, start + 13) + ":00:00Z");
      if (this.hours.size > 4096) this.hours.clear();
      this.hours.set(key, base);
    }
    let ms = 0;
    if (len > 20) {
      // Date.parse keeps milliseconds and drops finer digits.
      for (let i = 20, scale = 100; i < len - 1 && scale >= 1; i++, scale /= 10) ms += digitAt(buf, start + i) * scale;
    }
    return base + (minute * 60 + second) * 1000 + ms;
  }

  private shapeOk(buf: Buffer, start: number, len: number): boolean {
    for (let i = 0; i < 19; i++) {
      const c = buf[start + i]!;
      const want = i === 4 || i === 7 ? 0x2d : i === 10 ? 0x54 : i === 13 || i === 16 ? 0x3a : -1;
      if (want === -1 ? c < 0x30 || c > 0x39 : c !== want) return false;
    }
    if (len === 20) return true;
    if (buf[start + 19] !== 0x2e) return false;
    for (let i = 20; i < len - 1; i++) {
      const c = buf[start + i]!;
      if (c < 0x30 || c > 0x39) return false;
    }
    return true;
  }
}

export function createEventsLog(opts: EventsLogOptions): EventsLog {
  return new EventsLog(opts);
}
