const MIN_BYTES = 64;

/** A window's timestamps as its stream's live bytes and its late store: what a scan in another process hands back. */
export interface TimeWindowState {
  readonly bytes: Uint8Array;
  /** Timestamps in the stream (the oldest is not in `bytes`; each later one is a distance there). */
  readonly count: number;
  readonly oldest: number;
  readonly newest: number;
  /** Late timestamps, sorted. */
  readonly late: Float64Array;
}
/** Late timestamps held apart before they are merged into the stream. */
const MIN_LATE_MERGE = 1024;

/**
 * Exact count of timestamps (integer ms) inside a sliding window: every timestamp is kept, in
 * order, until it leaves the window.
 *
 * Timestamps nearly always arrive in order (the log is appended to), so they are kept as a
 * stream: the oldest one, then each one as its distance from the one before, in as few bytes as
 * it needs (7 bits a byte). Events a second apart take two bytes each, a minute apart three:
 * a quarter to a half of a 32-bit store, with nothing rounded and no limit on the span. A
 * timestamp older than the stream's newest (written late) is kept apart, sorted, until those
 * are many enough to be merged into the stream in one pass.
 */
export class TimeWindow {
  private bytes: Uint8Array = new Uint8Array(MIN_BYTES);
  /** The stream's bytes in use: [head, tail); head is the distance from `oldest` to the next one. */
  private head = 0;
  private tail = 0;
  private streamCount = 0;
  private oldest = 0;
  private newest = 0;
  /** Late timestamps, sorted: [lateHead, lateTail) of `late`. */
  private late: Float64Array = new Float64Array(0);
  private lateHead = 0;
  private lateTail = 0;

  /**
   * A window holding exactly `state`'s timestamps; throws if the state is not one a window can
   * hold (distances that do not decode to `count` timestamps ending at `newest`, late ones unsorted).
   * With `adopt` the window keeps `state.bytes`' buffer, from the view's start to the buffer's
   * end, as its store (room to grow into) and `state.late` as its late store, instead of copies.
   */
  static restore(state: TimeWindowState, adopt = false): TimeWindow {
    const { bytes, count, oldest, newest, late } = state;
    if (!Number.isSafeInteger(count) || count < 0) throw new Error("time window: bad count");
    let t = oldest;
    let seen = count > 0 ? 1 : 0;
    for (let p = 0; p < bytes.length; seen++) {
      let value = 0;
      let scale = 1;
      for (;;) {
        if (p >= bytes.length) throw new Error("time window: truncated distance");
        const byte = bytes[p++]!;
        value += (byte & 0x7f) * scale;
        if (byte < 0x80) break;
        scale *= 128;
      }
      t += value;
    }
    if (seen !== count || (count > 0 && (!Number.isSafeInteger(oldest) || t !== newest))) throw new Error("time window: distances do not match the count");
    for (let i = 0; i < late.length; i++) {
      if (!Number.isSafeInteger(late[i]!) || (i > 0 && late[i]! < late[i - 1]!)) throw new Error("time window: late timestamps not sorted");
    }
    const window = new TimeWindow();
    if (adopt && bytes.buffer.byteLength - bytes.byteOffset >= MIN_BYTES) {
      window.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.buffer.byteLength - bytes.byteOffset);
    } else {
      window.bytes = new Uint8Array(Math.max(MIN_BYTES, bytes.length + 8));
      window.bytes.set(bytes);
    }
    window.tail = bytes.length;
    window.streamCount = count;
    window.oldest = count > 0 ? oldest : 0;
    window.newest = count > 0 ? newest : 0;
    window.late = adopt ? late : late.slice();
    window.lateTail = late.length;
    return window;
  }

  /** The live timestamps, copied. */
  state(): TimeWindowState {
    return {
      bytes: this.bytes.slice(this.head, this.tail),
      count: this.streamCount,
      oldest: this.oldest,
      newest: this.newest,
      late: this.late.slice(this.lateHead, this.lateTail),
    };
  }

  get count(): number {
    return this.streamCount + this.lateTail - this.lateHead;
  }

  add(t: number): void {
    if (this.streamCount === 0) {
      this.oldest = t;
      this.newest = t;
      this.streamCount = 1;
      this.head = 0;
      this.tail = 0;
      return;
    }
    if (t >= this.newest) {
      this.append(t - this.newest);
      this.newest = t;
      this.streamCount++;
      return;
    }
    this.addLate(t);
  }

  /** Drops every timestamp at or before `cutoff`. */
  expire(cutoff: number): void {
    while (this.streamCount > 0 && this.oldest <= cutoff) {
      if (--this.streamCount === 0) {
        this.head = 0;
        this.tail = 0;
        break;
      }
      this.oldest += this.readDelta();
    }
    while (this.lateHead < this.lateTail && this.late[this.lateHead]! <= cutoff) this.lateHead++;
    if (this.lateHead === this.lateTail) {
      this.lateHead = 0;
      this.lateTail = 0;
      if (this.late.length > 0) this.late = new Float64Array(0);
    }
    // A burst that has left the window gives its room back.
    const live = this.tail - this.head;
    if (this.bytes.length > 4 * MIN_BYTES && live < this.bytes.length / 4) this.resize(Math.max(MIN_BYTES, Math.ceil(live * 1.5)));
  }

  /** The distance at head, head moved past it. */
  private readDelta(): number {
    const b = this.bytes;
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = b[this.head++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  }

  private append(delta: number): void {
    // At most 8 bytes: a distance in ms below 2^53 (integers as exact as a double holds them).
    if (this.tail + 8 > this.bytes.length) this.makeRoom();
    const b = this.bytes;
    while (delta >= 0x80) {
      b[this.tail++] = (delta % 0x80) | 0x80;
      delta = Math.floor(delta / 0x80);
    }
    b[this.tail++] = delta;
  }

  private addLate(t: number): void {
    if (this.lateTail === this.late.length) {
      const live = this.lateTail - this.lateHead;
      if (this.lateHead > 0 && this.lateHead >= this.late.length / 4) {
        this.late.copyWithin(0, this.lateHead, this.lateTail);
      } else {
        const next = new Float64Array(Math.max(16, Math.ceil(this.late.length * 1.5)));
        next.set(this.late.subarray(this.lateHead, this.lateTail));
        this.late = next;
      }
      this.lateHead = 0;
      this.lateTail = live;
    }
    let lo = this.lateHead;
    let hi = this.lateTail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.late[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    this.late.copyWithin(lo + 1, lo, this.lateTail);
    this.late[lo] = t;
    this.lateTail++;
    const lateCount = this.lateTail - this.lateHead;
    if (lateCount >= MIN_LATE_MERGE && lateCount * 8 >= this.streamCount) this.mergeLate();
  }

  /** Rewrites the stream with the late timestamps in their places: one pass over both. */
  private mergeLate(): void {
    const stream = new Float64Array(this.streamCount);
    let t = this.oldest;
    stream[0] = t;
    for (let i = 1; i < stream.length; i++) stream[i] = t += this.readDelta();
    const late = this.late.subarray(this.lateHead, this.lateTail);
    this.bytes = new Uint8Array(Math.max(MIN_BYTES, Math.ceil((this.tail - this.head + late.length * 3) * 1.25)));
    this.head = 0;
    this.tail = 0;
    this.streamCount = 0;
    this.late = new Float64Array(0);
    this.lateHead = 0;
    this.lateTail = 0;
    let i = 0;
    let j = 0;
    while (i < stream.length || j < late.length) {
      const next = j >= late.length || (i < stream.length && stream[i]! <= late[j]!) ? stream[i++]! : late[j++]!;
      this.add(next);
    }
  }

  /**
   * Reuses the consumed front when it is a quarter of the store or more, else grows by half: a
   * steady stream keeps a steady footprint, and a long read of the log ends at most half again
   * the size of what it holds.
   */
  private makeRoom(): void {
    const live = this.tail - this.head;
    if (this.head > 0 && this.head >= this.bytes.length / 4 && live + 8 <= this.bytes.length) {
      this.bytes.copyWithin(0, this.head, this.tail);
      this.head = 0;
      this.tail = live;
    } else {
      this.resize(Math.ceil(this.bytes.length * 1.5) + 8);
    }
  }

  private resize(capacity: number): void {
    const live = this.tail - this.head;
    const next = new Uint8Array(capacity);
    next.set(this.bytes.subarray(this.head, this.tail));
    this.bytes = next;
    this.head = 0;
    this.tail = live;
  }
}
