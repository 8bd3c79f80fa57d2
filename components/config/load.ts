import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { parse as parseYaml } from "yaml";
import { CONFIG_NAMESPACE, ConfigError, renderValue } from "./errors";
import { validateStackConfig, type RawStackConfig, type StackConfig } from "./resolve";

/** Secret values by key (below the namespace), as Pulumi secret Outputs; never plain strings. */
export type SecretValues = Readonly<Record<string, pulumi.Output<string>>>;

export interface LoadedStackConfig {
  readonly config: StackConfig;
  readonly secrets: SecretValues;
}

/**
 * `gpu-monitoring:ports` → `ports`; keys of other namespaces (docker:host, kubernetes:context)
 * → undefined. Pulumi puts keys written without a namespace in the project's.
 */
function localKey(fullKey: string): string | undefined {
  const colon = fullKey.indexOf(":");
  if (colon < 0) return fullKey;
  return fullKey.slice(0, colon) === CONFIG_NAMESPACE ? fullKey.slice(colon + 1) : undefined;
}

/**
 * Pulumi hands every config value over as a string; structured values (`--path` or `--plaintext`
 * JSON), numbers and booleans come back as their JSON text.
 */
function parseRuntimeValue(text: string): unknown {
  const t = text.trim();
  if (/^[[{]/.test(t) || /^(?:true|false|null)$/.test(t) || /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * `isConfigSecret` is exported by the runtime but marked internal, so its typings omit it. It is
 * the only way to learn which keys `pulumi config set --secret` wrote.
 */
const isConfigSecret: (key: string) => boolean =
  (runtimeConfig as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret ?? (() => false);

/** Loads and validates the config of the stack being deployed (inside a Pulumi program). */
export function loadStackConfig(): LoadedStackConfig {
  const all = pulumi.runtime.allConfig();
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, pulumi.Output<string>> = {};
  for (const [fullKey, value] of Object.entries(all)) {
    const key = localKey(fullKey);
    if (key === undefined) continue;
    if (isConfigSecret(fullKey)) secrets[key] = pulumi.secret(value);
    else plain[key] = parseRuntimeValue(value);
  }
  const config = validateStackConfig({ plain, secretKeys: Object.keys(secrets) }, `stack ${pulumi.getStack()}`);
  return { config, secrets };
}

function isSecureValue(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

function containsSecureValue(v: unknown): boolean {
  if (isSecureValue(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecureValue);
  if (v !== null && typeof v === "object") return Object.values(v).some(containsSecureValue);
  return false;
}

/**
 * Reads a stack file's config block without Pulumi. `secure:` values count as set secrets;
 * their (encrypted) text is never decrypted or returned.
 */
export function readStackFile(file: string): RawStackConfig {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, "utf8"));
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ConfigError([{ key: "(file)", message: `cannot read stack file: ${why}`, got: renderValue(file), allowed: "a readable Pulumi stack YAML file" }], file);
  }
  const config = doc !== null && typeof doc === "object" && "config" in doc ? (doc as { config: unknown }).config : {};
  if (config === null || config === undefined) return { plain: {}, secretKeys: [] };
  if (typeof config !== "object" || Array.isArray(config)) {
    throw new ConfigError([{ key: "(file)", message: "`config:` is not a mapping", got: renderValue(config), allowed: "a mapping of config keys" }], file);
  }
  const plain: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  const nested: string[] = [];
  for (const [fullKey, value] of Object.entries(config)) {
    const key = localKey(fullKey);
    if (key === undefined) continue;
    if (isSecureValue(value)) secretKeys.push(key);
    else if (containsSecureValue(value)) nested.push(key);
    else plain[key] = value;
  }
  if (nested.length > 0) {
    throw new ConfigError(
      nested.map((key) => ({
        key,
        message: "holds a secure value inside a structured key",
        got: "[secret]",
        allowed: "secrets as top-level keys (pulumi config set --secret <key>), referenced by name",
      })),
      file,
    );
  }
  return { plain, secretKeys };
}

/** Loads and validates `stacks/Pulumi.<name>.yaml` (or any stack file path) without Pulumi. */
export function loadStackConfigFile(file: string): StackConfig {
  return validateStackConfig(readStackFile(file), path.basename(file));
}

/** Path of a named stack's file in this repository (stackConfigDir: stacks). */
export function stackFilePath(stack: string, root: string = path.resolve(__dirname, "..", "..")): string {
  return path.join(root, "stacks", `Pulumi.${stack}.yaml`);
}
