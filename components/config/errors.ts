import type { z } from "zod";

export const CONFIG_NAMESPACE = "gpu-monitoring";

/** One thing wrong with the stack config. `got` is already rendered (and redacted for secrets). */
export interface ConfigProblem {
  /** Dotted path below the namespace, e.g. `ports.grafana` or `extraScrapeTargets.0.job`. */
  readonly key: string;
  readonly message: string;
  readonly got: string;
  readonly allowed: string;
}

/** Doc sections of the top-level keys documented outside docs/stack.md's config reference. */
const DOC_PAGES: Readonly<Record<string, string>> = {
  "thresholds.ds01": "docs/alerts.md#ds01",
  "thresholds.dcgm": "docs/alerts.md#dcgm-hardware",
  "thresholds.drm": "docs/alerts.md#drm",
  "thresholds.stack": "docs/alerts.md#stack-self-monitoring",
  thresholds: "docs/alerts.md",
  "alerting.receivers": "docs/alerts.md#receivers",
  alerting: "docs/alerts.md#routing-and-receivers",
  kubernetes: "docs/kubernetes.md",
};

/** The doc page (and section) that documents a config key. */
export function docPageFor(key: string): string {
  const parts = key.split(".");
  for (let n = Math.min(parts.length, 2); n > 0; n--) {
    const page = DOC_PAGES[parts.slice(0, n).join(".")];
    if (page) return page;
  }
  return "docs/stack.md#config-reference";
}

export function formatProblem(p: ConfigProblem): string {
  return `${CONFIG_NAMESPACE}:${p.key}: ${p.message} (got ${p.got}; allowed: ${p.allowed}; see ${docPageFor(p.key)})`;
}

/** Every problem in a stack config at once, so one run shows the user everything to fix. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[], source?: string) {
    const head = `invalid stack config${source ? ` in ${source}` : ""} (${problems.length} problem${problems.length === 1 ? "" : "s"}):`;
    super([head, ...problems.map((p) => `  - ${formatProblem(p)}`)].join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Shown instead of any value whose key is a secret. */
export const REDACTED = "[secret]";

/**
 * Key names whose values are (or, mistyped, could be) secrets: a password typed into
 * `authPasswordSecret`, a webhook URL under an unknown `slackWebhook` key. Their values are never
 * shown in a message, whatever went wrong with them.
 */
const SECRET_KEY_NAME = /pass(word|wd)?|secret|token|api[-_]?key|webhook|credential|auth|bearer|private[-_]?key|cookie|session|signature/i;

/** Values that carry credentials whatever key they sit under: URLs with user:password@, token query parameters, webhook URLs. */
export function valueLooksSecret(value: unknown): boolean {
  if (typeof value === "object" && value !== null) return Object.entries(value).some(([k, v]) => SECRET_KEY_NAME.test(k) || valueLooksSecret(v));
  if (typeof value !== "string") return false;
  return /:\/\/[^/\s@]*@/.test(value) || /[?&](token|access_token|api[-_]?key|key|password|secret|sig|signature|auth)=/i.test(value) || /hooks\.slack\.com\/|discord(app)?\.com\/api\/webhooks\//i.test(value);
}

/**
 * A key that names a secret which is not set. The name is not repeated: a password typed where a
 * secret's name belongs would be echoed.
 */
export function unsetSecretProblem(key: string): ConfigProblem {
  return {
    key,
    message: "names a secret that is not set in this stack",
    got: REDACTED,
    allowed: "the name of a secret set with pulumi config set --secret <name> <value>",
  };
}

/** Whether a config path names a secret-looking key at any level. */
export function pathLooksSecret(path: readonly PropertyKey[]): boolean {
  return path.some((seg) => typeof seg === "string" && SECRET_KEY_NAME.test(seg));
}

/** The value as a message may show it: redacted where its key or its content looks secret. */
export function renderConfigValue(path: readonly PropertyKey[], value: unknown, isSecretPath: (path: readonly PropertyKey[]) => boolean = () => false): string {
  return isSecretPath(path) || pathLooksSecret(path) || valueLooksSecret(value) ? REDACTED : renderValue(value);
}

export function renderValue(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** Messages in the schema may carry their allowed values after a `|`: "not a duration|15s, 1h30m". */
function splitMessage(message: string): { message: string; allowed?: string } {
  const bar = message.indexOf("|");
  return bar < 0 ? { message } : { message: message.slice(0, bar), allowed: message.slice(bar + 1) };
}

interface ZodInternals {
  _zod: { def: { type: string; innerType?: unknown; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown; in?: unknown; out?: unknown } };
}

function unwrap(schema: unknown): ZodInternals | undefined {
  let cur = schema as ZodInternals | undefined;
  for (let i = 0; i < 20 && cur?._zod; i++) {
    const def = cur._zod.def;
    if (["optional", "default", "nullable", "prefault", "readonly", "catch"].includes(def.type)) cur = def.innerType as ZodInternals;
    else if (def.type === "pipe") cur = def.in as ZodInternals;
    else return cur;
  }
  return cur;
}

/** Keys an object schema accepts at `path`, for "unknown key" messages. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let cur = unwrap(schema);
  for (const seg of path) {
    if (!cur) return [];
    const def = cur._zod.def;
    if (def.type === "object" && def.shape) cur = unwrap(def.shape[String(seg)]);
    else if (def.type === "array") cur = unwrap(def.element);
    else if (def.type === "record") cur = unwrap(def.valueType);
    else return [];
  }
  const def = cur?._zod.def;
  return def?.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

function describeType(expected: string): string {
  if (expected === "int") return "a whole number";
  return expected === "object" ? "a mapping" : expected === "array" ? "a list" : `a ${expected}`;
}

function bound(issue: { origin?: string; inclusive?: boolean }, value: number | bigint, dir: ">" | "<"): string {
  const op = `${dir}${issue.inclusive ? "=" : ""}`;
  switch (issue.origin) {
    case "array":
      return `a list with ${op} ${value} items`;
    case "string":
      return `a string with ${op} ${value} characters`;
    default:
      return `a number ${op} ${value}`;
  }
}

/**
 * zod issues → problems with key, value and what is allowed. `isSecretPath` tells which values
 * must never be shown.
 */
export function problemsFromZod(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  schema: z.ZodType,
  isSecretPath: (path: readonly PropertyKey[]) => boolean = () => false,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = issue.path;
    const key = path.map(String).join(".");
    const got = renderConfigValue(path, valueAt(input, path), isSecretPath);
    const { message, allowed } = splitMessage(issue.message);
    switch (issue.code) {
      case "unrecognized_keys": {
        const known = knownKeysAt(schema, path);
        for (const k of issue.keys) {
          const full = [...path, k];
          problems.push({
            key: full.map(String).join("."),
            message: "unknown key",
            got: renderConfigValue(full, valueAt(input, full), isSecretPath),
            allowed: known.length ? known.join(", ") : "no other keys",
          });
        }
        break;
      }
      case "invalid_type":
        problems.push({
          key,
          message: issue.input === undefined && valueAt(input, path) === undefined ? "required" : `wrong type, expected ${describeType(issue.expected)}`,
          got,
          allowed: describeType(issue.expected),
        });
        break;
      case "invalid_value":
        problems.push({ key, message: "not one of the allowed values", got, allowed: issue.values.map((v) => renderValue(v)).join(", ") });
        break;
      case "too_small":
        problems.push({ key, message: "too small", got, allowed: bound(issue, issue.minimum, ">") });
        break;
      case "too_big":
        problems.push({ key, message: "too large", got, allowed: bound(issue, issue.maximum, "<") });
        break;
      case "invalid_union":
        problems.push({ key, message: "does not match any allowed form", got, allowed: allowed ?? unionForms(issue.errors) });
        break;
      case "invalid_format":
        problems.push({ key, message: allowed ? message : `not a valid ${issue.format}`, got, allowed: allowed ?? `a ${issue.format}` });
        break;
      default:
        problems.push({ key, message, got, allowed: allowed ?? "see the documented values" });
    }
  }
  return problems;
}

function unionForms(branches: readonly (readonly z.core.$ZodIssue[])[]): string {
  const forms = branches.map((errs) => {
    const first = errs[0];
    if (!first) return "?";
    if (first.code === "invalid_value") return first.values.map((v) => renderValue(v)).join(" | ");
    if (first.code === "invalid_type") return describeType(first.expected);
    return first.message;
  });
  return forms.join(" or ");
}
