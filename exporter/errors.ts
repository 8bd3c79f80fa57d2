/**
 * Errors a user can act on, and how they are printed. The exporter image holds exporter/ and
 * metrics/ only, so these live here; the gpu-monitoring CLI re-exports them (cli/errors.ts) and
 * its `exporter` command throws the same class.
 */

/** What went wrong and what to do next. The CLI prints both and exits 1; any other error is printed with a generic next step. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly next: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export function formatError(err: unknown): string {
  if (err instanceof CliError) return `error: ${err.message}\n  next: ${err.next}\n`;
  const message = err instanceof Error ? err.message : String(err);
  return `error: ${message}\n  next: rerun with --help to check the arguments; if it persists, report it with the command you ran\n`;
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
