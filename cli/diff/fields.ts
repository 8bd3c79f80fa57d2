import type { FieldChange } from "./model";

/**
 * Field-by-field comparison of two parsed documents (YAML or JSON), for the differs to build on.
 * Objects are walked key by key; lists of objects with a `name` (containers, env, ports) are
 * matched by name, other lists of objects by position; lists of `--flag=value` arguments by flag.
 */

type Json = unknown;

export function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Fields whose values are never shown: files a secret is read from (`*_file`), and anything named
 * like a credential. Only the fact that they changed is reported.
 */
const SECRET_FIELD = /(_file|password|passwd|secret|token|credentials|api_key|api_url|service_key|routing_key|webhook_url|stringData\.[^.]+)$/i;

export function isSecretField(path: string): boolean {
  return SECRET_FIELD.test(path);
}

/** A value as one line: strings as they are, everything else as compact JSON. */
export function show(value: Json): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);

function flagMap(args: readonly string[]): Map<string, string> | undefined {
  if (!args.some((a) => a.startsWith("--"))) return undefined;
  const flags = new Map<string, string>();
  args.forEach((arg, i) => {
    const m = /^(--?[^=]+)(?:=(.*))?$/.exec(arg);
    const name = m?.[1] ?? `[${i}]`;
    flags.set(flags.has(name) ? `${name}[${i}]` : name, m?.[2] ?? (m ? "(set)" : arg));
  });
  return flags;
}

const named = (items: readonly Json[]): boolean =>
  items.length > 0 && items.every((i) => isRecord(i) && typeof i.name === "string") && new Set(items.map((i) => (i as { name: string }).name)).size === items.length;

function listChanges(path: string, before: readonly Json[], after: readonly Json[], out: FieldChange[]): void {
  if (before.every((x) => typeof x === "string") && after.every((x) => typeof x === "string")) {
    const [fb, fa] = [flagMap(before as string[]), flagMap(after as string[])];
    if (fb && fa) {
      for (const flag of [...new Set([...fb.keys(), ...fa.keys()])]) {
        walk(`${path} ${flag}`, fb.get(flag), fa.get(flag), out);
      }
      return;
    }
  }
  if (named(before) && named(after)) {
    const byName = (items: readonly Json[]) => new Map(items.map((i) => [(i as { name: string }).name, i]));
    const [b, a] = [byName(before), byName(after)];
    for (const name of [...new Set([...b.keys(), ...a.keys()])]) walk(`${path}[${name}]`, b.get(name), a.get(name), out);
    return;
  }
  if (before.some(isRecord) || after.some(isRecord)) {
    for (let i = 0; i < Math.max(before.length, after.length); i++) walk(`${path}[${i}]`, before[i], after[i], out);
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push(leaf(path, before, after));
}

function leaf(path: string, before: Json, after: Json): FieldChange {
  if (isSecretField(path)) return { field: path, hidden: true };
  return { field: path, ...(before === undefined ? {} : { before: show(before) }), ...(after === undefined ? {} : { after: show(after) }) };
}

function walk(path: string, before: Json, after: Json, out: FieldChange[]): void {
  if (isRecord(before) && isRecord(after)) {
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])]) walk(join(path, key), before[key], after[key], out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    listChanges(path, before, after, out);
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push(leaf(path, before, after));
}

/** Every leaf that differs between two documents, named by its path (`a.b[name].c`, `args --flag`). */
export function fieldChanges(before: Json, after: Json, path = ""): FieldChange[] {
  const out: FieldChange[] = [];
  walk(path, before, after, out);
  return out;
}

/** An object without some keys, for comparing what a differ has not already reported. */
export function without(value: Json, keys: readonly string[]): Record<string, Json> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)));
}

/** Items keyed by `key`; a repeated key gets `#2`, `#3` so nothing is lost. */
export function keyed<T>(items: readonly T[], key: (item: T) => string): Map<string, T> {
  const out = new Map<string, T>();
  for (const item of items) {
    const base = key(item);
    let k = base;
    for (let n = 2; out.has(k); n++) k = `${base} #${n}`;
    out.set(k, item);
  }
  return out;
}

/** Keys only on one side, and keys on both, in a stable order (before's order, then after's new ones). */
export function pairUp<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>): { removed: string[]; added: string[]; both: string[] } {
  return {
    removed: [...before.keys()].filter((k) => !after.has(k)),
    added: [...after.keys()].filter((k) => !before.has(k)),
    both: [...before.keys()].filter((k) => after.has(k)),
  };
}
