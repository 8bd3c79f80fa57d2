import { isUtf8 } from "node:buffer";
import { promises as fs } from "node:fs";
import { openRegularFile } from "../core/regular-file";
import type { Source } from "../core/source";
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
/** "YYYY-MM-DDTHH", hours 00..23. */
const HOUR = /^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3])$/;
const NEWLINE = 0x0a;

/**
 * Buffer's own UTF-8 decoder (what toString calls), without toString's argument handling: that
 * handling is JavaScript and, without the optimising compiler, costs more than the decoding.
 */
interface Utf8Slicing {
  utf8Slice(start: number, end: number): string;
}

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
  private readonly timestamps = new TimestampParser();
  private readonly eventTypes = new EventTypeNames();
  private cutoff = 0;
  /** Eviction runs at most once per read, so a flood of new types costs one pass, not one per line. */
  private evictedThisRead = false;

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
    // Sized to what is new and dropped after the read: the first read of a large log needs
    // the full chunk, a scrape's read of a few appended lines does not keep a megabyte alive.
    const chunk = Buffer.allocUnsafe(Math.min(this.chunkBytes, size - this.offset));
    while (this.offset < size) {
      const want = Math.min(chunk.length, size - this.offset);
      const { bytesRead } = await file.read(chunk, 0, want, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      this.stats.bytesRead += bytesRead;
      this.scan(chunk.subarray(0, bytesRead), now);
    }
  }

  private scan(buf: Buffer, now: number): void {
    let start = 0;
    let nl = buf.indexOf(NEWLINE);
    if (nl >= 0 && (this.skipping || this.partialBytes > 0)) {
      if (this.skipping) {
        this.skipping = false;
      } else {
        this.partial.push(buf.subarray(0, nl));
        const line = Buffer.concat(this.partial, this.partialBytes + nl);
        this.resetLine();
        this.line(line, 0, line.length, now, true);
      }
      start = nl + 1;
      nl = buf.indexOf(NEWLINE, start);
    }
    if (nl >= 0) {
      // UTF-8 cut at newlines stays valid piece by piece: one check of the chunk's whole lines
      // answers for all of them, and each line is looked at only when that check fails.
      const last = buf.lastIndexOf(NEWLINE);
      const checkEach = !isUtf8(buf.subarray(start, last));
      do {
        this.line(buf, start, nl, now, checkEach);
        start = nl + 1;
        nl = buf.indexOf(NEWLINE, start);
      } while (nl >= 0);
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
      this.line(line, 0, line.length, now, true);
    }
    this.resetLine();
  }

  private resetLine(): void {
    this.partial = [];
    this.partialBytes = 0;
    this.skipping = false;
  }

  /**
   * One line, counted exactly when JSON.parse reads it as an object whose `event_type` and
   * `timestamp` are valid. JSON.parse is node's own C++ and as fast without the optimising
   * compiler as with it, so the exporter can run without that compiler's memory.
   */
  private line(buf: Buffer, start: number, end: number, now: number, checkUtf8: boolean): void {
    if (end > start && buf[end - 1] === 0x0d) end--;
    if (end === start) return;
    this.stats.lines++;
    if (end - start > this.maxLine) {
      this.stats.oversized++;
      return;
    }
    // Decoding would turn bad bytes into U+FFFD and hide them: they are reported as such.
    if (checkUtf8 && !isUtf8(buf.subarray(start, end))) {
      this.stats.invalidUtf8++;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse((buf as Buffer & Utf8Slicing).utf8Slice(start, end));
    } catch {
      this.stats.notJson++;
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.stats.notJson++;
      return;
    }
    const { timestamp, event_type: eventType } = value as { timestamp?: unknown; event_type?: unknown };
    if (typeof eventType !== "string" || !this.eventTypes.valid(eventType)) {
      this.stats.badEventType++;
      return;
    }
    if (typeof timestamp !== "string") {
      this.stats.badTimestamp++;
      return;
    }
    this.count(eventType, this.timestamps.parse(timestamp), now);
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

/**
 * Which strings are event types (1..128 word characters, dots, colons, dashes): a log holds a
 * handful of types millions of times, so each is checked once and then found in a map, without
 * running the pattern (interpreted, without the optimising compiler) on every line.
 */
export class EventTypeNames {
  private readonly known = new Map<string, boolean>();

  valid(name: string): boolean {
    let ok = this.known.get(name);
    if (ok === undefined) {
      ok = EVENT_TYPE.test(name);
      // Bounded like the windows themselves; past the bound a type is simply checked again.
      if (this.known.size < 4096) this.known.set(name, ok);
    }
    return ok;
  }
}

/** An ISO 8601 timestamp with a zone (Z or an offset) in ms; NaN if it is not one. */
function parseIsoTimestamp(text: string): number {
  return ISO_UTC.test(text) ? Date.parse(text) : NaN;
}

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z`. Events come in order, so nearly every line falls in
 * the same hour as the one before: the last hour's 13 characters and its start are kept, and
 * such a line costs a prefix comparison and six digits. Other hours are looked up in a small
 * cache; anything else goes through the pattern and Date.parse, so the result is always theirs.
 */
export class TimestampParser {
  private readonly hours = new Map<string, number>();
  /** "YYYY-MM-DDTHH" of the last hour seen (none yet: a string no timestamp starts with), and its start in ms. */
  private lastHour = "\u0000";
  private lastHourMs = NaN;

  parse(text: string): number {
    const len = text.length;
    if (len < 20 || len > 30 || text.charCodeAt(len - 1) !== 0x5a) return parseIsoTimestamp(text);
    const base = text.startsWith(this.lastHour) ? this.lastHourMs : this.hourStart(text);
    if (base === undefined) return parseIsoTimestamp(text);
    // ":MM:SS", then nothing or "." and 1..9 digits before the Z.
    const m1 = text.charCodeAt(14) - 0x30;
    const m2 = text.charCodeAt(15) - 0x30;
    const s1 = text.charCodeAt(17) - 0x30;
    const s2 = text.charCodeAt(18) - 0x30;
    if (text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a || m1 >>> 0 > 5 || m2 >>> 0 > 9 || s1 >>> 0 > 5 || s2 >>> 0 > 9) {
      return parseIsoTimestamp(text);
    }
    let ms = 0;
    if (len > 20) {
      if (text.charCodeAt(19) !== 0x2e || len === 21) return parseIsoTimestamp(text);
      // Date.parse keeps milliseconds and drops finer digits: past the third, scale is 0.
      for (let i = 20, scale = 100; i < len - 1; i++) {
        const d = text.charCodeAt(i) - 0x30;
        if (d >>> 0 > 9) return parseIsoTimestamp(text);
        ms += d * scale;
        scale = scale === 1 ? 0 : scale / 10;
      }
    }
    return base + ((m1 * 10 + m2) * 60 + s1 * 10 + s2) * 1000 + ms;
  }

  /** The start of the hour "YYYY-MM-DDTHH" that text starts with, remembered as the last hour; undefined if not that shape. */
  private hourStart(text: string): number | undefined {
    const hour = text.slice(0, 13);
    let base = this.hours.get(hour);
    if (base === undefined) {
      if (!HOUR.test(hour)) return undefined;
      base = Date.parse(hour + ":00:00Z");
      if (this.hours.size > 4096) this.hours.clear();
      this.hours.set(hour, base);
    }
    this.lastHour = hour;
    this.lastHourMs = base;
    return base;
  }
}

export function createEventsLog(opts: EventsLogOptions): EventsLog {
  return new EventsLog(opts);
}
