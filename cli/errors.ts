/**
 * An error the user can act on: what went wrong and what to do next. The CLI prints both and
 * exits 1; any other error is printed with a generic next step.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly next: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** A command given wrong arguments (a flag value out of its set, a flag that does not fit): exit 2. */
export class UsageError extends CliError {
  override readonly name = "UsageError";
}

export function formatError(err: unknown): string {
  if (err instanceof CliError) return `error: ${err.message}\n  next: ${err.next}\n`;
  const message = err instanceof Error ? err.message : String(err);
  return `error: ${message}\n  next: rerun with --help to check the arguments; if it persists, report it with the command you ran\n`;
}

/** Replaces every occurrence of each secret with "***", for text that came from elsewhere (a server's error body). */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length > 0) out = out.split(secret).join("***");
  }
  return out;
}

/**
 * Commander's messages quote what was typed: "unknown option '--apikey=SECRET'", "option '--token
 * <token>' argument 'SECRET' is invalid". The value after `=` of any option, and the argument of
 * an option whose name says it holds a secret, are taken out before the message is printed.
 */
export function withoutOptionValues(text: string): string {
  return text
    .replace(/'(-{1,2}[^'=\s]+)=[^']*'/g, "'$1=...'")
    .replace(/(option '-{1,2}[^']*(?:token|key|password|secret|webhook)[^']*' argument )'[^']*'/gi, "$1'...'");
}
