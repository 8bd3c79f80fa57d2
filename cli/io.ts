/** Where a command writes and what it reads, so tests can run commands in-process. */
export interface TextSink {
  write(text: string): void;
}

export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** All of standard input, for arguments given as "-". */
  readonly readStdin: () => Promise<string>;
  /** Set by a command that finished its work but must still fail (e.g. `status` with an unhealthy component). */
  exitCode: number;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** A reader that stops early (`| head`) closes the pipe; that ends the output, not the program with a stack trace. */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

export function processIo(): CliIo {
  exitQuietlyOnClosedPipe(process.stdout);
  return {
    stdout: { write: (text) => void process.stdout.write(text) },
    stderr: { write: (text) => void process.stderr.write(text) },
    env: process.env,
    cwd: process.cwd(),
    readStdin: () => readAll(process.stdin),
    exitCode: 0,
  };
}

/** Progress lines go to stderr so stdout stays clean for tables and JSON. */
export function progressWriter(io: CliIo, quiet = false): (line: string) => void {
  return (line) => {
    if (!quiet) io.stderr.write(`${line}\n`);
  };
}
