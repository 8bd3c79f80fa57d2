import { spawn } from "node:child_process";

/**
 * Large reads of the events log in a short-lived child process. The exporter serves under
 * `--lite-mode` (no optimising compiler: node's own mapped pages about 5 MB fewer), where its
 * byte scanner reads about 10 MB/s instead of 200; a read of many megabytes (the log's first
 * read, a large file rotated in) is handed to a child of the same program started with the
 * compiler on. The child gets the open file as a descriptor and the reader's state, reads the
 * byte range, writes the state back and exits; the parent takes it as if it had read the bytes.
 *
 * Both ways a message is a frame: one line of JSON (the header), then the raw bytes the header
 * declares. The parent reads the answer's bytes straight into arrays sized from its header, so
 * megabytes of windows cross without a serialised copy or a buffer per chunk in between, which
 * would otherwise stay behind in the serving process's heap.
 *
 * This module is the protocol only: how the child is started, found, bounded in time and heard;
 * what a header and its bytes hold is the events log's.
 */

/** Set in the child's environment: the entry script then serves one scan instead of starting the exporter. */
const CHILD_ENV = "GPU_MONITORING_EVENTS_SCAN_CHILD";
/** The child's descriptor for the log (0 the request, 1 the answer, 2 the parent's stderr). */
export const SCAN_CHILD_FILE_FD = 3;
/** Flags that turn node's optimising compiler off: lite or jitless mode, no TurboFan, or a top tier below it (--max-opt=0..2). */
const NO_OPTIMISER = /^--(?:lite[-_]mode|jitless|no[-_]opt|max[-_]opt=[0-2])$/;
/** WebAssembly's off switch, which only goes with those (lite mode warns otherwise). */
const NO_WASM = /^--no[-_]expose[-_]wasm$/;
/** A header longer than this is not one this program writes. */
const MAX_HEADER_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

export interface ScanChild {
  /** The script node runs: the same program as the parent, which serves the scan when CHILD_ENV is set. */
  readonly entry: string;
  /** Node flags for the child: the parent's, without those that turn the optimising compiler off. */
  readonly execArgv: readonly string[];
  /** Reads of more unread bytes than this go to a child; smaller ones stay in the process. */
  readonly thresholdBytes: number;
  /** How long the child may take; default scanTimeoutMs of the bytes to read. */
  readonly timeoutMs?: number;
}

/** What the child reports beside its result, for the log and the benchmark. */
export interface ScanChildUsage {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly peakRssBytes: number;
}

/** A header and the bytes after it, in order. */
export interface Frame {
  readonly header: unknown;
  readonly body: readonly Uint8Array[];
}

/**
 * 4 MiB: a child costs about 0.1 s of start-up and 40-50 MB for its short life; the lite-mode
 * scanner reads 4 MiB in about 0.4 s of CPU. DS01 appends kilobytes between scrapes, so every
 * scrape's read stays in the process, and what goes to a child is the log's first read or a
 * rotation to a large file.
 */
export const DEFAULT_THRESHOLD_BYTES = 4 * 1024 * 1024;

/**
 * The child for this process, if it runs without the optimising compiler; undefined otherwise
 * (then a child would scan no faster). The entry is the script node was started with (the bundle
 * in the image, exporter/main.ts under tsx), which answers as a child when CHILD_ENV is set.
 */
export function scanChildForThisProcess(): ScanChild | undefined {
  const entry = process.argv[1];
  if (!entry || !process.execArgv.some((f) => NO_OPTIMISER.test(f))) return undefined;
  return { entry, execArgv: childExecArgv(process.execArgv), thresholdBytes: DEFAULT_THRESHOLD_BYTES };
}

/** The child's node flags: the parent's, less those that turn the optimising compiler or WebAssembly off. */
export function childExecArgv(parent: readonly string[]): string[] {
  return parent.filter((f) => !NO_OPTIMISER.test(f) && !NO_WASM.test(f));
}

export function isScanChild(): boolean {
  return process.env[CHILD_ENV] === "1";
}

/** The frame's header line and bytes, in the order they are written. */
function framePieces(frame: Frame): Uint8Array[] {
  return [Buffer.from(JSON.stringify(frame.header) + "\n"), ...frame.body.filter((b) => b.length > 0)];
}

/** Splits a whole frame held in one buffer into its header and the bytes after it. */
export function splitFrame(buf: Buffer): { header: unknown; body: Buffer } {
  const nl = buf.indexOf(NEWLINE);
  if (nl < 0 || nl > MAX_HEADER_BYTES) throw new Error("frame without a header line");
  return { header: JSON.parse(buf.toString("utf8", 0, nl)) as unknown, body: buf.subarray(nl + 1) };
}

/**
 * Child side: reads the request frame from stdin, answers it on stdout, exits. A failure is
 * reported as a header `{ error }` and exit code 1.
 */
export function serveScanChild(handle: (request: { header: unknown; body: Buffer }, fd: number) => Promise<Frame>): void {
  const chunks: Buffer[] = [];
  process.stdin.on("data", (c: Buffer) => chunks.push(c));
  process.stdin.once("end", () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const answer = async (): Promise<Frame> => {
      const frame = await handle(splitFrame(Buffer.concat(chunks)), SCAN_CHILD_FILE_FD);
      chunks.length = 0;
      const cpu = process.cpuUsage(c0);
      const usage: ScanChildUsage = { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
      return { header: { ok: true, usage, result: frame.header }, body: frame.body };
    };
    answer().then(
      (frame) => writeAll(framePieces(frame), 0),
      (err: unknown) => writeAll(framePieces({ header: { ok: false, error: err instanceof Error ? err.message : String(err) }, body: [] }), 1),
    );
  });
}

function writeAll(pieces: readonly Uint8Array[], exitCode: number): void {
  for (const piece of pieces) process.stdout.write(piece);
  process.stdout.end(() => process.exit(exitCode));
}

/**
 * Reads a frame from a stream of chunks: the header line, which `sink` turns into the arrays
 * its bytes are to fill (and so checks), then exactly those bytes, copied straight in.
 */
class FrameReader {
  private headerChunks: Buffer[] = [];
  private headerBytes = 0;
  private arrays: Uint8Array[] | undefined;
  private index = 0;
  private filled = 0;
  header: unknown;

  constructor(private readonly sink: (header: unknown) => Uint8Array[]) {}

  /** Takes a chunk; throws on bytes beyond what the header declared or a header too long. */
  push(chunk: Buffer): void {
    let start = 0;
    if (!this.arrays) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.headerBytes += chunk.length;
        if (this.headerBytes > MAX_HEADER_BYTES) throw new Error("answer header too long");
        this.headerChunks.push(chunk);
        return;
      }
      this.headerChunks.push(chunk.subarray(0, nl));
      this.header = JSON.parse(Buffer.concat(this.headerChunks).toString("utf8")) as unknown;
      this.headerChunks = [];
      this.arrays = this.sink(this.header).filter((a) => a.length > 0);
      start = nl + 1;
    }
    while (start < chunk.length) {
      const target = this.arrays[this.index];
      if (!target) throw new Error("answer longer than its header declares");
      const n = Math.min(target.length - this.filled, chunk.length - start);
      target.set(chunk.subarray(start, start + n), this.filled);
      start += n;
      this.filled += n;
      if (this.filled === target.length) {
        this.index++;
        this.filled = 0;
      }
    }
  }

  /** Throws unless the header and every byte it declared have come. */
  finish(): void {
    if (!this.arrays) throw new Error("no answer");
    if (this.index < this.arrays.length) throw new Error("answer shorter than its header declares");
  }
}

/** A child's answer that is not `{ ok: true, result, usage }`. */
function failureOf(header: unknown): string | undefined {
  const h = header as { ok?: unknown; error?: unknown } | null;
  if (h === null || typeof h !== "object") return "malformed answer";
  if (h.ok === true) return undefined;
  return `child failed: ${typeof h.error === "string" ? h.error : "malformed answer"}`;
}

/**
 * Parent side: starts the child with `fd` as its descriptor SCAN_CHILD_FILE_FD, writes the
 * request, and resolves once the child has exited 0 with a whole answer: its result header, with
 * its bytes in the arrays `sink` gave for that header. Rejects (and kills the child) if it fails,
 * answers short, long or malformed, or takes longer than `timeoutMs`; the child is killed too
 * if this process exits first.
 */
export function runScanChild(
  child: ScanChild,
  fd: number,
  request: Frame,
  timeoutMs: number,
  sink: (result: unknown) => Uint8Array[],
): Promise<{ result: unknown; usage: unknown }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...child.execArgv, child.entry], {
      stdio: ["pipe", "pipe", "inherit", fd],
      env: { ...process.env, [CHILD_ENV]: "1" },
    });
    let failure: string | undefined;
    const fail = (why: string): void => {
      failure ??= why;
      proc.kill("SIGKILL");
    };
    const reader = new FrameReader((header) => {
      const why = failureOf(header);
      if (why !== undefined) throw new Error(why);
      return sink((header as { result: unknown }).result);
    });
    const killOnExit = (): void => {
      proc.kill("SIGKILL");
    };
    process.once("exit", killOnExit);
    const timer = setTimeout(() => fail(`no answer within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    proc.stdout!.on("data", (chunk: Buffer) => {
      if (failure !== undefined) return;
      try {
        reader.push(chunk);
      } catch (err: unknown) {
        fail(err instanceof Error ? err.message : String(err));
      }
    });
    proc.once("error", (err) => fail(err.message));
    // A child that exits before reading its request closes the pipe under the write.
    proc.stdin!.on("error", (err) => fail(`could not send the request: ${err.message}`));
    proc.once("close", (code, signal) => {
      clearTimeout(timer);
      process.removeListener("exit", killOnExit);
      if (failure === undefined) {
        try {
          reader.finish();
          if (code !== 0) failure = `child exited with ${signal ?? code}`;
        } catch (err: unknown) {
          failure = err instanceof Error ? err.message : String(err);
        }
      }
      if (failure !== undefined) return reject(new Error(failure));
      const header = reader.header as { result: unknown; usage: unknown };
      resolve({ result: header.result, usage: header.usage });
    });
    for (const piece of framePieces(request)) proc.stdin!.write(piece);
    proc.stdin!.end();
  });
}

/** How long a child may take for `bytes`: start-up, then at least 20 MB/s (twice what the process reads itself). */
export function scanTimeoutMs(bytes: number): number {
  return 15_000 + bytes / 20_000;
}
