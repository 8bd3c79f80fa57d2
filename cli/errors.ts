import { CliError } from "../exporter/errors";

// The exporter shares these with the CLI and cannot import from cli/ (its image holds exporter/ and metrics/ only).
export { CliError, formatError, withoutOptionValues } from "../exporter/errors";

/** A command given wrong arguments (a flag value out of its set, a flag that does not fit): exit 2. */
export class UsageError extends CliError {
  override readonly name = "UsageError";
}

/** Replaces every occurrence of each secret with "***", for text that came from elsewhere (a server's error body). */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length > 0) out = out.split(secret).join("***");
  }
  return out;
}
