import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { vi } from "vitest";

/**
 * Runs the Pulumi program (index.ts) against Pulumi's mocks the way `pulumi up -s <stack>` would:
 * the config set in the runtime before the program is imported, a fresh module graph per run, every
 * registered resource and URN recorded. The Docker and Kubernetes stack harnesses build on it.
 */

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
const PROGRAM = path.join(REPO_ROOT, "index.ts");
export const testSecret = (key: string): string => `test-secret-${key}`;

/** A resource the program registered, as the mocks saw it. */
export interface Registered {
  readonly type: string;
  readonly name: string;
  /** Inputs with secrets unwrapped to their values. */
  readonly inputs: Record<string, unknown>;
  /** Input paths whose value was a Pulumi secret (`uploads[2].content`). */
  readonly secretPaths: readonly string[];
  readonly custom: boolean;
  readonly urn: string;
  /** Provider reference (`urn::id`) the resource was created with. */
  readonly provider?: string;
  /** Resource options as the engine receives them. */
  readonly options: RegisteredOptions;
}

export interface RegisteredOptions {
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly ignoreChanges: readonly string[];
  /** Number of aliases (names or URNs the resource was known by before). */
  readonly aliases: number;
}

/** The parts of the engine's RegisterResourceRequest the options are read from. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getAliasesList(): unknown[];
}

interface RegisteringMonitor {
  registerResource(req: RegisterRequest, callback: (err: unknown, res: unknown) => void): Promise<void>;
}

export interface ProgramRun {
  readonly resources: readonly Registered[];
  /** URNs in registration order, as the engine would compute them (duplicates kept). */
  readonly urns: readonly string[];
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Whether each stack output is marked secret. */
  readonly outputIsSecret: Readonly<Record<string, boolean>>;
  /** What the program threw, if it did (e.g. a ConfigError). */
  readonly error?: unknown;
}

export interface ProgramOptions {
  readonly stack: string;
  /** Plain config values below the `gpu-monitoring:` namespace. */
  readonly plain: Readonly<Record<string, unknown>>;
  /** Secret config values below the namespace. */
  readonly secrets: Readonly<Record<string, string>>;
  /** Modules loaded into the fresh module graph before the program (e.g. a platform that registers itself). */
  readonly preload?: readonly string[];
}

/** Pulumi's marker for a serialized secret value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces each serialized secret by its value; `onSecret` sees the path of each one. */
export function unwrapSecrets(value: unknown, onSecret: (path: string) => void = () => {}, at = ""): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, onSecret, `${at}[${i}]`));
  if (value !== null && typeof value === "object") {
    const rec = value as Record<string, unknown>;
    if (rec[SECRET_SIG] === SECRET_VALUE) {
      onSecret(at);
      return unwrapSecrets(rec["value"], onSecret, at);
    }
    return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, unwrapSecrets(v, onSecret, at ? `${at}.${k}` : k)]));
  }
  return value;
}

interface UrnMinter {
  newUrn(parent: string, type: string, name: string): string;
}

/** Waits until no resource has been registered for a few ticks (bounded to 10 s). */
async function settle(count: () => number): Promise<void> {
  let last = -1;
  let stable = 0;
  const deadline = Date.now() + 10_000;
  while (stable < 5 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    const now = count();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
}

export async function runProgram(options: ProgramOptions): Promise<ProgramRun> {
  vi.resetModules();
  const resources: Registered[] = [];
  const urns: string[] = [];
  const urnOf = new Map<string, string>();
  const optionsOf = new Map<string, RegisteredOptions>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const secretPaths: string[] = [];
        resources.push({
          type: args.type,
          name: args.name,
          inputs: unwrapSecrets(args.inputs, (p) => secretPaths.push(p)) as Record<string, unknown>,
          secretPaths,
          custom: args.custom ?? false,
          urn: urnOf.get(`${args.type}::${args.name}`) ?? "",
          ...(args.provider ? { provider: args.provider } : {}),
          options: optionsOf.get(`${args.type}::${args.name}`) ?? { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], aliases: 0 },
        });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "docker:index/remoteImage:RemoteImage") state["imageId"] = `sha256:${args.name}`;
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "gpu-monitoring",
    options.stack,
    false,
  );
  const monitor = settings.getMonitor() as unknown as UrnMinter & RegisteringMonitor;
  // The mocks' newResource sees type, name and inputs only; the options come from the request.
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    optionsOf.set(`${req.getType()}::${req.getName()}`, {
      protect: req.getProtect(),
      retainOnDelete: req.getRetainondelete(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      ignoreChanges: req.getIgnorechangesList(),
      aliases: req.getAliasesList().length,
    });
    return register(req, callback);
  };
  const mint = monitor.newUrn.bind(monitor);
  monitor.newUrn = (parent, type, name) => {
    const urn = mint(parent, type, name);
    urns.push(urn);
    urnOf.set(`${type}::${name}`, urn);
    return urn;
  };

  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.plain)) config[`gpu-monitoring:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  for (const [k, v] of Object.entries(options.secrets)) config[`gpu-monitoring:${k}`] = v;
  pulumi.runtime.setAllConfig(config, Object.keys(options.secrets).map((k) => `gpu-monitoring:${k}`));

  let program: Record<string, unknown>;
  try {
    for (const mod of options.preload ?? []) await import(mod);
    // Imported by path: vi.resetModules() above makes every run execute the program afresh.
    program = (await import(PROGRAM)) as Record<string, unknown>;
  } catch (error) {
    await settle(() => resources.length);
    return { resources, urns, outputs: {}, outputIsSecret: {}, error };
  }
  const outputs: Record<string, unknown> = {};
  const outputIsSecret: Record<string, boolean> = {};
  for (const [name, value] of Object.entries(program)) {
    if (pulumi.Output.isInstance(value)) {
      outputs[name] = await new Promise((resolve) => value.apply((v) => resolve(v)));
      outputIsSecret[name] = await pulumi.isSecret(value);
    } else {
      outputs[name] = value;
      outputIsSecret[name] = false;
    }
  }
  await settle(() => resources.length);
  return { resources, urns, outputs, outputIsSecret };
}
