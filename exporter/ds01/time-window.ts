/**
 * Exact count of timestamps inside a sliding window: every timestamp is kept, in order, until
 * it leaves the window. Timestamps nearly always arrive in order (the log is appended to), so
 * adding is an append; an out-of-order one is placed by binary search.
 */
export class TimeWindow {
  private times = new Float64Array(64);
  private head = 0;
  private tail = 0;

  get count(): number {
    return this.tail - this.head;
  }

  add(t: number): void {
    if (this.tail === this.times.length) this.makeRoom();
    if (this.tail === this.head || this.times[this.tail - 1]! <= t) {
      this.times[this.tail++] = t;
      return;
    }
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    this.times.copyWithin(lo + 1, lo, this.tail);
    this.times[lo] = t;
    this.tail++;
  }

  /** Drops every timestamp at or before `cutoff`. */
  expire(cutoff: number): void {
    while (this.head < this.tail && this.times[this.head]! <= cutoff) this.head++;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      if (this.times.length > 4096) this.times = new Float64Array(64);
    }
  }

  /** Reuses the expired front before growing, so a steady stream keeps a steady footprint. */
  private makeRoom(): void {
    const live = this.tail - this.head;
    if (this.head > 0 && live <= this.times.length / 2) {
      this.times.copyWithin(0, this.head, this.tail);
    } else {
      const bigger = new Float64Array(this.times.length * 2);
      bigger.set(this.times.subarray(this.head, this.tail));
      this.times = bigger;
    }
    this.head = 0;
    this.tail = live;
  }
}
