const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const MIN_CAPACITY = 64;

/**
 * Exact count of timestamps (integer ms) inside a sliding window: every timestamp is kept, in
 * order, until it leaves the window. Timestamps nearly always arrive in order (the log is
 * appended to), so adding is an append; an out-of-order one is placed by binary search.
 *
 * A day of events spans far less than 2^31 ms (24.8 days), so each timestamp is kept as a 32-bit
 * offset from a base: half the memory of a float64 per event, with nothing rounded. The base
 * moves forward as the window slides; a span that no longer fits (a window of weeks) switches
 * the store to float64 offsets, still exact.
 */
export class TimeWindow {
  private times: Int32Array | Float64Array = new Int32Array(MIN_CAPACITY);
  private base = 0;
  private head = 0;
  private tail = 0;

  get count(): number {
    return this.tail - this.head;
  }

  add(t: number): void {
    if (this.tail === this.head) {
      this.head = 0;
      this.tail = 0;
      this.base = t;
      if (this.times instanceof Float64Array) this.times = new Int32Array(MIN_CAPACITY);
    } else if (this.times instanceof Int32Array && (t - this.base > INT32_MAX || t - this.base < INT32_MIN)) {
      this.rebase(t);
    }
    if (this.tail === this.times.length) this.makeRoom();
    const offset = t - this.base;
    if (this.tail === this.head || this.times[this.tail - 1]! <= offset) {
      this.times[this.tail++] = offset;
      return;
    }
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    this.times.copyWithin(lo + 1, lo, this.tail);
    this.times[lo] = offset;
    this.tail++;
  }

  /** Drops every timestamp at or before `cutoff`. */
  expire(cutoff: number): void {
    const limit = cutoff - this.base;
    while (this.head < this.tail && this.times[this.head]! <= limit) this.head++;
    const live = this.tail - this.head;
    if (live === 0) {
      this.head = 0;
      this.tail = 0;
    }
    // A burst that has left the window gives its room back.
    if (this.times.length > 4 * MIN_CAPACITY && live < this.times.length / 4) this.resize(Math.max(MIN_CAPACITY, Math.ceil(live * 1.5)));
  }

  /** Moves the base to the oldest of the live timestamps and t, or widens the store if their span does not fit 32 bits. */
  private rebase(t: number): void {
    const oldest = this.base + this.times[this.head]!;
    const newest = this.base + this.times[this.tail - 1]!;
    const base = Math.min(oldest, t);
    if (Math.max(newest, t) - base > INT32_MAX) {
      const wide = new Float64Array(this.times.length);
      wide.set(this.times);
      this.times = wide;
      return;
    }
    const shift = base - this.base;
    for (let i = this.head; i < this.tail; i++) this.times[i] = this.times[i]! - shift;
    this.base = base;
  }

  /**
   * Reuses the expired front when it is a quarter of the store or more, else grows by half: a
   * steady stream keeps a steady footprint, and a long read of the log ends at most half again
   * the size of what it holds.
   */
  private makeRoom(): void {
    const live = this.tail - this.head;
    if (this.head > 0 && this.head >= this.times.length / 4) {
      this.times.copyWithin(0, this.head, this.tail);
      this.head = 0;
      this.tail = live;
    } else {
      this.resize(Math.ceil(this.times.length * 1.5));
    }
  }

  private resize(capacity: number): void {
    const live = this.tail - this.head;
    const next = this.times instanceof Int32Array ? new Int32Array(capacity) : new Float64Array(capacity);
    next.set(this.times.subarray(this.head, this.tail));
    this.times = next;
    this.head = 0;
    this.tail = live;
  }
}
