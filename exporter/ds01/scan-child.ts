import { spawn } from "node:child_process";

/**
 * Large reads of the events log in a short-lived child process. The exporter serves under
 * `--lite-mode` (no optimising compiler: about 10 MB less resident), where its byte scanner
 * reads 10 MB/s instead of 200; a read of many megabytes (the log's first read, a large file
 * rotated in) is handed to a child of the same program started with the compiler on. The child
 * gets the open file as a descriptor and the reader's state, reads the byte range, sends the
 * state back and exits; the parent takes it as if it had read the bytes itself.
 *
 * This module is the protocol only: how the child is started, found, bounded in time and heard;
 * what a request and a result hold is the events log's.
 */

/** Set in the child's environment: the entry script then serves one scan instead of starting the exporter. */
const CHILD_ENV = "GPU_MONITORING_EVENTS_SCAN_CHILD";
/** The child's stdio slot for the log's file descriptor (0-2 stdio, 3 the IPC channel). */
const FILE_FD = 4;
/** Flags that turn node's optimising compiler off. */
const NO_OPTIMISER_FLAGS = new Set(["--lite-mode", "--jitless", "--no-opt"]);
/** What the child runs without: those, and WebAssembly's off switch, which only goes with them (lite mode warns otherwise). */
const CHILD_DROPS = new Set([...NO_OPTIMISER_FLAGS, "--no-expose-wasm"]);

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
  if (!entry || !process.execArgv.some((f) => NO_OPTIMISER_FLAGS.has(f))) return undefined;
  return { entry, execArgv: childExecArgv(process.execArgv), thresholdBytes: DEFAULT_THRESHOLD_BYTES };
}

export function childExecArgv(parent: readonly string[]): string[] {
  return parent.filter((f) => !CHILD_DROPS.has(f));
}

export function isScanChild(): boolean {
  return process.env[CHILD_ENV] === "1";
}

/** Child side: waits for one request, answers it, exits; exits too if the parent goes away. */
export function serveScanChild(handle: (request: unknown, fd: number) => Promise<unknown>): void {
  const send = process.send?.bind(process);
  if (!send) {
    process.stderr.write(`${CHILD_ENV} is set but there is no IPC channel\n`);
    process.exit(2);
  }
  process.once("disconnect", () => process.exit(1));
  process.once("message", (request: unknown) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    handle(request, FILE_FD).then(
      (result) => {
        const cpu = process.cpuUsage(c0);
        const usage: ScanChildUsage = { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
        send({ ok: true, result, usage }, undefined, {}, () => process.exit(0));
      },
      (err: unknown) => {
        send({ ok: false, error: err instanceof Error ? err.message : String(err) }, undefined, {}, () => process.exit(1));
      },
    );
  });
}

/**
 * Parent side: starts the child with `fd` as its descriptor FILE_FD, sends the request, and
 * resolves with its result once the child has exited. Rejects (and kills the child) if it fails,
 * exits without a result, or takes longer than `timeoutMs`; the child is killed too if this
 * process exits first.
 */
export function runScanChild(child: ScanChild, fd: number, request: unknown, timeoutMs: number): Promise<{ result: unknown; usage: unknown }> {
  return new Promise((resolve, reject) => {
    const stdio: Array<"ignore" | "inherit" | "ipc" | number> = ["ignore", "ignore", "inherit", "ipc", fd];
    const proc = spawn(process.execPath, [...child.execArgv, child.entry], {
      stdio,
      env: { ...process.env, [CHILD_ENV]: "1" },
      serialization: "advanced",
    });
    let answer: { result: unknown; usage: unknown } | undefined;
    let failure: string | undefined;
    const killOnExit = (): void => {
      proc.kill("SIGKILL");
    };
    process.once("exit", killOnExit);
    const timer = setTimeout(() => {
      failure = `no answer within ${Math.round(timeoutMs / 1000)} s`;
      proc.kill("SIGKILL");
    }, timeoutMs);
    proc.once("message", (message: unknown) => {
      const m = message as { ok?: unknown; result?: unknown; usage?: unknown; error?: unknown } | null;
      if (m !== null && typeof m === "object" && m.ok === true) answer = { result: m.result, usage: m.usage };
      else failure = `child failed: ${m !== null && typeof m === "object" && typeof m.error === "string" ? m.error : "malformed answer"}`;
    });
    proc.once("error", (err) => {
      failure ??= err.message;
    });
    proc.once("close", (code, signal) => {
      clearTimeout(timer);
      process.removeListener("exit", killOnExit);
      if (answer && failure === undefined && code === 0) resolve(answer);
      else reject(new Error(failure ?? `child exited with ${signal ?? code} without an answer`));
    });
    proc.send(request as object, (err) => {
      if (err) {
        failure ??= `could not send the request: ${err.message}`;
        proc.kill("SIGKILL");
      }
    });
  });
}

/** How long a child may take for `bytes`: start-up, then at least 20 MB/s (twice what the process reads itself). */
export function scanTimeoutMs(bytes: number): number {
  return 15_000 + bytes / 20_000;
}
