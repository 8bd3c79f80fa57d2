import { isUtf8 } from "node:buffer";
import { promises as fs } from "node:fs";
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
const NEWLINE = 0x0a;

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
        this.line(line, now);
      } else {
        this.line(buf.subarray(start, nl), now);
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
    if (this.partialBytes > 0 && !this.skipping) this.line(Buffer.concat(this.partial, this.partialBytes), now);
    this.resetLine();
  }

  private resetLine(): void {
    this.partial = [];
    this.partialBytes = 0;
    this.skipping = false;
  }

  private line(bytes: Buffer, now: number): void {
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    if (end === 0) return;
    this.stats.lines++;
    if (end > this.maxLine) {
      this.stats.oversized++;
      return;
    }
    const body = end === bytes.length ? bytes : bytes.subarray(0, end);
    if (!isUtf8(body)) {
      this.stats.invalidUtf8++;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(body.toString("utf8"));
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
    if (typeof timestamp !== "string" || !ISO_UTC.test(timestamp)) {
      this.stats.badTimestamp++;
      return;
    }
    const t = Date.parse(timestamp);
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

export function createEventsLog(opts: EventsLogOptions): EventsLog {
  return new EventsLog(opts);
}
