import { execFile } from "node:child_process";

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
 * Runs a SLURM client found on PATH (no shell), bounded in time and output. Every failure
 * becomes an Error whose message says which command failed and why (not on PATH, timed out,
 * output too large, exit status with the first line of stderr), which is what
 * ds01_exporter_source_up's log line and the source's status report.
 */
export function runSlurmCommand(file: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandRun> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_COMMAND_MAX_BYTES;
  const env = options.slurmConf ? { ...process.env, SLURM_CONF: options.slurmConf } : process.env;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: maxBytes, encoding: "utf8", windowsHide: true }, (err, stdout, stderr) => {
      const durationMs = performance.now() - started;
      if (!err) return resolve({ stdout, durationMs });
      const code = (err as NodeJS.ErrnoException).code;
      const said = firstLine(stderr);
      if (code === "ENOENT") return reject(new Error(`${file} not found on PATH`));
      if (code === "EACCES") return reject(new Error(`${file} is not executable`));
      if (code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") return reject(new Error(`${file} output exceeds ${maxBytes} bytes`));
      if (err.killed || (err as { signal?: string }).signal === "SIGKILL") return reject(new Error(`${file} timed out after ${timeoutMs} ms`));
      const status = typeof code === "number" ? `exited with status ${code}` : `failed (${String(code ?? (err as { signal?: string }).signal ?? "unknown")})`;
      reject(new Error(`${file} ${status}${said ? `: ${said}` : ""}`));
    });
  });
}

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}...` : line.trim();
}
