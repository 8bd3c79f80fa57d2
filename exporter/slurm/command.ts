import { spawn } from "node:child_process";

/** Bound on one command's run; squeue talks to slurmctld, whose own message timeout is 10 s. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
/** squeue --json is about 3.5 kB per job: 64 MiB holds some 18,000 jobs. */
export const DEFAULT_COMMAND_MAX_BYTES = 64 * 1024 * 1024;

export interface CommandOptions {
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  /** SLURM_CONF for the command; the exporter's own environment otherwise. */
  readonly slurmConf?: string;
}

/** What one command run cost, for the exporter's self-report. */
export interface CommandRun {
  readonly stdout: string;
  readonly durationMs: number;
}

/**
 * Runs a SLURM client found on PATH (no shell), bounded in time and output. The command runs in
 * its own process group and the whole group is killed at the timeout or the size limit, so a
 * wrapper script's children cannot keep the poll waiting. Every failure becomes an Error whose
 * message says which command failed and why (not on PATH, timed out, output too large, exit
 * status with the first line of stderr), which is what the source reports as its reason.
 */
export function runSlurmCommand(file: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandRun> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_COMMAND_MAX_BYTES;
  const env = options.slurmConf ? { ...process.env, SLURM_CONF: options.slurmConf } : process.env;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { env, detached: true, stdio: ["ignore", "pipe", "pipe"], windowsHide: true });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = "";
    let stopped: "timeout" | "too-large" | undefined;
    let spawnError: NodeJS.ErrnoException | undefined;
    const killGroup = (why: "timeout" | "too-large"): void => {
      stopped ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // the group is already gone
      }
    };
    const timer = setTimeout(() => killGroup("timeout"), timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) killGroup("too-large");
      else chunks.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString("utf8");
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      spawnError = err;
    });
    child.on("close", (code: number | null) => {
      clearTimeout(timer);
      if (spawnError?.code === "ENOENT") return reject(new Error(`${file} not found on PATH`));
      if (spawnError?.code === "EACCES") return reject(new Error(`${file} is not executable`));
      if (spawnError) return reject(new Error(`${file} failed to start (${spawnError.code ?? spawnError.message})`));
      if (stopped === "too-large") return reject(new Error(`${file} output exceeds ${maxBytes} bytes`));
      if (stopped === "timeout") return reject(new Error(`${file} timed out after ${timeoutMs} ms`));
      const said = firstLine(stderr);
      if (code !== 0) return reject(new Error(`${file} ${code === null ? "was killed" : `exited with status ${code}`}${said ? `: ${said}` : ""}`));
      resolve({ stdout: Buffer.concat(chunks).toString("utf8"), durationMs: performance.now() - started });
    });
  });
}

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}...` : line.trim();
}
