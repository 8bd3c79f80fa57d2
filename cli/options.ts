import { UsageError } from "./errors";

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses a Prometheus-style duration ("500ms", "10s", "5m", "1h30m") into milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const parts = [...value.matchAll(/(\d+)(ms|s|m|h|d|w)/g)];
  const consumed = parts.map((p) => p[0]).join("");
  if (parts.length === 0 || consumed !== value) {
    throw new UsageError(`${flag} "${value}" is not a duration`, `use a number with a unit: ms, s, m, h, d or w (e.g. 10s, 5m, 1h30m)`);
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] ?? ""] ?? 0), 0);
  if (ms <= 0) throw new UsageError(`${flag} must be more than zero, got "${value}"`, "give a positive duration such as 10s");
  return ms;
}

/** Parses a time given as RFC 3339 ("2026-01-01T00:00:00Z"), Unix seconds ("1767225600") or "now". */
export function parseTime(value: string, flag: string, now: Date): Date {
  if (value === "now") return now;
  if (/^\d+(\.\d+)?$/.test(value)) return new Date(Number(value) * 1000);
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    throw new UsageError(`${flag} "${value}" is not a time`, `use RFC 3339 (2026-01-01T00:00:00Z), Unix seconds, or "now"`);
  }
  return date;
}

/** First of: the flag's value, the env variable; undefined when neither is set. */
export function flagOrEnv(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  if (flag !== undefined && flag !== "") return flag;
  const fromEnv = env[name];
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined;
}

export function oneOf<const T extends string>(value: string, allowed: readonly T[], flag: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new UsageError(`${flag} "${value}" is not one of ${allowed.join(", ")}`, `use ${flag} ${allowed.join("|")}`);
  return found;
}
