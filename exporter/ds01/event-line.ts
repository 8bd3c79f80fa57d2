/**
 * Validates one events-log line as JSON and finds its top-level `timestamp` and `event_type`
 * string values, straight from the bytes and without building objects: the initial scan of a
 * large log is dominated by this, and JSON.parse would allocate every `details` object only to
 * drop it. The grammar is JSON's (RFC 8259) exactly; what the fast path does not handle (escapes
 * in a key or in one of the two values, nesting deeper than MAX_DEPTH) is answered FALLBACK, and
 * the caller then uses JSON.parse, so the outcome is always JSON.parse's.
 */
export enum LineVerdict {
  /** A JSON object; fields located. */
  Object,
  /** Valid JSON, but not an object. */
  NotObject,
  Invalid,
  /** Undecided here; parse with JSON.parse. */
  Fallback,
}

/** What a top-level key held: absent, a string without escapes (range known), or anything else. */
export enum FieldKind {
  Absent,
  String,
  Other,
}

const MAX_DEPTH = 64;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

// "timestamp" and "event_type" as bytes.
const TIMESTAMP = [0x74, 0x69, 0x6d, 0x65, 0x73, 0x74, 0x61, 0x6d, 0x70];
const EVENT_TYPE = [0x65, 0x76, 0x65, 0x6e, 0x74, 0x5f, 0x74, 0x79, 0x70, 0x65];

const enum Fail {
  Invalid = -1,
  Fallback = -2,
}

const EMPTY = new Uint8Array(0);

export class EventLineScanner {
  /** Set when the line has a byte ≥ 0x80 (its UTF-8 must then be checked). */
  high = false;
  tsKind = FieldKind.Absent;
  tsStart = 0;
  tsEnd = 0;
  typeKind = FieldKind.Absent;
  typeStart = 0;
  typeEnd = 0;

  private buf: Uint8Array = EMPTY;
  private end = 0;
  /** Set while scanning a string that contained an escape. */
  private escaped = false;

  /** Lets go of the last line's buffer (a read chunk of up to a megabyte) once a read is done. */
  release(): void {
    this.buf = EMPTY;
  }

  scan(buf: Uint8Array, start: number, end: number): LineVerdict {
    this.buf = buf;
    this.end = end;
    this.high = false;
    this.tsKind = FieldKind.Absent;
    this.typeKind = FieldKind.Absent;
    let p = this.ws(start);
    if (p >= end) return LineVerdict.Invalid;
    const isObject = buf[p] === 0x7b;
    p = isObject ? this.object(p, 0, true) : this.value(p, 0);
    if (p < 0) return p === Fail.Fallback ? LineVerdict.Fallback : LineVerdict.Invalid;
    if (this.ws(p) !== end) return LineVerdict.Invalid;
    return isObject ? LineVerdict.Object : LineVerdict.NotObject;
  }

  private ws(p: number): number {
    const b = this.buf;
    while (p < this.end) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    return p;
  }

  private value(p: number, depth: number): number {
    if (p >= this.end) return Fail.Invalid;
    const c = this.buf[p]!;
    if (c === QUOTE) return this.string(p);
    if (c === 0x7b) return this.object(p, depth, false);
    if (c === 0x5b) return this.array(p, depth);
    if (c === 0x74) return this.literal(p, "true");
    if (c === 0x66) return this.literal(p, "false");
    if (c === 0x6e) return this.literal(p, "null");
    return this.number(p);
  }

  private object(p: number, depth: number, top: boolean): number {
    if (depth >= MAX_DEPTH) return Fail.Fallback;
    const b = this.buf;
    p = this.ws(p + 1);
    if (p < this.end && b[p] === 0x7d) return p + 1;
    for (;;) {
      if (p >= this.end || b[p] !== QUOTE) return Fail.Invalid;
      const keyStart = p + 1;
      p = this.string(p);
      if (p < 0) return p;
      const keyEnd = p - 1;
      let field = 0;
      if (top) {
        // An escaped key might spell one of ours: let JSON.parse decide.
        if (this.escaped) return Fail.Fallback;
        field = this.matches(keyStart, keyEnd, TIMESTAMP) ? 1 : this.matches(keyStart, keyEnd, EVENT_TYPE) ? 2 : 0;
      }
      p = this.ws(p);
      if (p >= this.end || b[p] !== 0x3a) return Fail.Invalid;
      p = this.ws(p + 1);
      const valueStart = p;
      p = this.value(p, depth + 1);
      if (p < 0) return p;
      if (field !== 0) {
        const isString = b[valueStart] === QUOTE;
        if (isString && this.escaped) return Fail.Fallback;
        const kind = isString ? FieldKind.String : FieldKind.Other;
        if (field === 1) {
          this.tsKind = kind;
          this.tsStart = valueStart + 1;
          this.tsEnd = p - 1;
        } else {
          this.typeKind = kind;
          this.typeStart = valueStart + 1;
          this.typeEnd = p - 1;
        }
      }
      p = this.ws(p);
      if (p >= this.end) return Fail.Invalid;
      if (b[p] === 0x2c) {
        p = this.ws(p + 1);
        continue;
      }
      if (b[p] === 0x7d) return p + 1;
      return Fail.Invalid;
    }
  }

  private array(p: number, depth: number): number {
    if (depth >= MAX_DEPTH) return Fail.Fallback;
    const b = this.buf;
    p = this.ws(p + 1);
    if (p < this.end && b[p] === 0x5d) return p + 1;
    for (;;) {
      p = this.value(p, depth + 1);
      if (p < 0) return p;
      p = this.ws(p);
      if (p >= this.end) return Fail.Invalid;
      if (b[p] === 0x2c) {
        p = this.ws(p + 1);
        continue;
      }
      if (b[p] === 0x5d) return p + 1;
      return Fail.Invalid;
    }
  }

  /** p at the opening quote; returns the index after the closing quote. */
  private string(p: number): number {
    const b = this.buf;
    const end = this.end;
    this.escaped = false;
    p++;
    while (p < end) {
      // Runs of ordinary characters, the bulk of any line, cost one table lookup a byte.
      while (p < end && PLAIN_IN_STRING[b[p]!] === 1) p++;
      if (p >= end) break;
      const c = b[p]!;
      if (c === QUOTE) return p + 1;
      if (c < 0x20) return Fail.Invalid;
      if (c >= 0x80) {
        this.high = true;
        p++;
      } else if (c === BACKSLASH) {
        this.escaped = true;
        if (p + 1 >= end) return Fail.Invalid;
        const e = b[p + 1]!;
        if (e === 0x75) {
          if (p + 5 >= end) return Fail.Invalid;
          for (let i = p + 2; i < p + 6; i++) if (!isHex(b[i]!)) return Fail.Invalid;
          p += 6;
        } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          p += 2;
        } else {
          return Fail.Invalid;
        }
      } else {
        p++;
      }
    }
    return Fail.Invalid;
  }

  private number(p: number): number {
    const b = this.buf;
    const end = this.end;
    if (b[p] === 0x2d) p++;
    if (p >= end) return Fail.Invalid;
    if (b[p] === 0x30) p++;
    else if (isDigit1to9(b[p]!)) while (p < end && isDigit(b[p]!)) p++;
    else return Fail.Invalid;
    if (p < end && b[p] === 0x2e) {
      p++;
      if (p >= end || !isDigit(b[p]!)) return Fail.Invalid;
      while (p < end && isDigit(b[p]!)) p++;
    }
    if (p < end && (b[p] === 0x65 || b[p] === 0x45)) {
      p++;
      if (p < end && (b[p] === 0x2b || b[p] === 0x2d)) p++;
      if (p >= end || !isDigit(b[p]!)) return Fail.Invalid;
      while (p < end && isDigit(b[p]!)) p++;
    }
    return p;
  }

  private literal(p: number, word: string): number {
    if (p + word.length > this.end) return Fail.Invalid;
    for (let i = 0; i < word.length; i++) if (this.buf[p + i] !== word.charCodeAt(i)) return Fail.Invalid;
    return p + word.length;
  }

  private matches(start: number, end: number, word: readonly number[]): boolean {
    if (end - start !== word.length) return false;
    for (let i = 0; i < word.length; i++) if (this.buf[start + i] !== word[i]) return false;
    return true;
  }
}

/** 1 for bytes that may stand in a JSON string as they are and need no attention. */
const PLAIN_IN_STRING = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) if (c !== QUOTE && c !== BACKSLASH) PLAIN_IN_STRING[c] = 1;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isDigit1to9 = (c: number): boolean => c >= 0x31 && c <= 0x39;
const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
