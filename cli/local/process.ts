import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { sleep } from "./wait";

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Every process started here and not yet seen to exit; its group is killed if this process exits early. */
const live = new Map<number, string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of live.keys()) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

/**
 * One server process of a local stack (the demo, the end-to-end suite). stdout and stderr go to
 * `<logDir>/<name>.log`, so a failure can show what the process said. Each runs as the leader of
 * its own process group: `stop()` signals that group by the leader's PID, so a helper the server
 * started goes with it, and a Ctrl-C in the terminal reaches only the parent, which stops the
 * servers in order.
 */
export class ManagedProcess {
  readonly pid: number;
  readonly logPath: string;
  readonly exited: Promise<ProcessExit>;
  private exitInfo: ProcessExit | undefined;

  private constructor(
    readonly name: string,
    child: ChildProcess,
    logPath: string,
    log: WriteStream,
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn returned no pid`);
    this.pid = child.pid;
    this.logPath = logPath;
    // 'close' comes after stdout/stderr are drained, so the log holds the last words too.
    child.once("close", () => log.end());
    live.set(this.pid, name);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(this.pid);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  static async start(
    name: string,
    command: string,
    args: readonly string[],
    options: { logDir: string; cwd?: string; env?: NodeJS.ProcessEnv },
  ): Promise<ManagedProcess> {
    installExitHook();
    const logPath = join(options.logDir, `${name}.log`);
    const log = createWriteStream(logPath, { flags: "a" });
    log.write(`# ${new Date().toISOString()} ${command} ${args.join(" ")}\n`);
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    const spawned = new Promise<void>((resolve) => child.once("spawn", () => resolve()));
    const first = await Promise.race([spawned.then(() => undefined), spawnError]);
    if (first instanceof Error) throw new Error(`${name}: cannot start ${command}: ${first.message}`);
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    return new ManagedProcess(name, child, logPath, log);
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exit(): ProcessExit | undefined {
    return this.exitInfo;
  }

  /** SIGTERM to its process group, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5_000): Promise<ProcessExit> {
    if (this.exitInfo) return this.exitInfo;
    this.signal("SIGTERM");
    const stopped = await Promise.race([this.exited, sleep(graceMs).then(() => undefined)]);
    if (stopped) return stopped;
    this.signal("SIGKILL");
    return this.exited;
  }

  /** Kills its process group at once (the "process died" case, not a clean shutdown). */
  async kill(): Promise<ProcessExit> {
    if (this.exitInfo) return this.exitInfo;
    this.signal("SIGKILL");
    return this.exited;
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, sig);
    } catch {
      // the group is gone; signal the leader in case it left its group
      try {
        process.kill(this.pid, sig);
      } catch {
        // exited between the check and the signal
      }
    }
  }

  /** The last `maxChars` characters of what the process wrote. */
  logTail(maxChars = 4_000): string {
    try {
      const text = readFileSync(this.logPath, "utf8");
      return text.length > maxChars ? `...${text.slice(-maxChars)}` : text;
    } catch {
      return "(no log)";
    }
  }
}
