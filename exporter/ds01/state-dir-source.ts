import { promises as fs } from "node:fs";
import path from "node:path";
import type { Source } from "../core/source";

export interface StateDirOptions {
  /** DS01's state directory, e.g. /var/lib/ds01. */
  readonly path: string;
  /** Entries visited when sizing the directory; past this the size is a lower bound. Default 20,000. */
  readonly maxEntries?: number;
  /** Depth the walk descends to. Default 8. */
  readonly maxDepth?: number;
  /** The directory's own size is re-walked at most this often. Default 60 s. */
  readonly walkIntervalMs?: number;
  readonly now?: () => number;
  /** Source name in ds01_exporter_source_*; default "state_dir". */
  readonly name?: string;
}

/** ds01_state_disk_bytes by `type`: the filesystem's used/free/total and the directory's own size. */
export interface StateDirUsage {
  readonly used: number;
  readonly free: number;
  readonly total: number;
  readonly state: number;
  /** True when the walk stopped at maxEntries/maxDepth, so `state` is a lower bound. */
  readonly stateTruncated: boolean;
}

/**
 * Disk usage of DS01's state directory. statfs() is one cheap call per read; the walk that sizes
 * the directory itself is bounded in entries and depth and cached, because a directory that
 * grew huge must not make every scrape slow.
 */
export class StateDirSource implements Source<StateDirUsage> {
  readonly name: string;
  private readonly maxEntries: number;
  private readonly maxDepth: number;
  private readonly interval: number;
  private readonly now: () => number;
  private walked: { at: number; bytes: number; truncated: boolean } | undefined;

  constructor(private readonly opts: StateDirOptions) {
    this.name = opts.name ?? "state_dir";
    this.maxEntries = opts.maxEntries ?? 20_000;
    this.maxDepth = opts.maxDepth ?? 8;
    this.interval = opts.walkIntervalMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  async read(): Promise<StateDirUsage> {
    // Both at once: a scrape waits for one round trip to the file system, not two.
    const [statted, statfs] = await Promise.allSettled([fs.stat(this.opts.path), fs.statfs(this.opts.path)]);
    if (statted.status === "rejected") throw statted.reason;
    if (!statted.value.isDirectory()) throw new Error(`state dir ${this.opts.path} is not a directory`);
    if (statfs.status === "rejected") throw statfs.reason;
    const fsStats = statfs.value;
    const bsize = Number(fsStats.bsize);
    const total = Number(fsStats.blocks) * bsize;
    const used = (Number(fsStats.blocks) - Number(fsStats.bfree)) * bsize;
    const free = Number(fsStats.bavail) * bsize;
    const now = this.now();
    if (!this.walked || now - this.walked.at >= this.interval) {
      const { bytes, truncated } = await this.walk();
      this.walked = { at: now, bytes, truncated };
    }
    return { used, free, total, state: this.walked.bytes, stateTruncated: this.walked.truncated };
  }

  async close(): Promise<void> {}

  /** Sums file sizes breadth-first without following symlinks. */
  private async walk(): Promise<{ bytes: number; truncated: boolean }> {
    let bytes = 0;
    let visited = 0;
    let truncated = false;
    let level = [this.opts.path];
    for (let depth = 0; level.length > 0; depth++) {
      const next: string[] = [];
      for (const dir of level) {
        let entries;
        try {
          entries = await fs.readdir(dir, { withFileTypes: true });
        } catch {
          continue; // a subdirectory we may not read, or one removed mid-walk
        }
        for (const entry of entries) {
          if (++visited > this.maxEntries) return { bytes, truncated: true };
          const full = path.join(dir, entry.name);
          if (entry.isDirectory()) {
            if (depth + 1 < this.maxDepth) next.push(full);
            else truncated = true;
          } else if (entry.isFile()) {
            try {
              bytes += (await fs.lstat(full)).size;
            } catch {
              // removed between readdir and lstat
            }
          }
        }
      }
      level = next;
    }
    return { bytes, truncated };
  }
}

export function createStateDirSource(opts: StateDirOptions): StateDirSource {
  return new StateDirSource(opts);
}
