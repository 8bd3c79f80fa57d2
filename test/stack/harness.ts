import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { vi } from "vitest";
import { readStackFile } from "../../components/config";

/** A resource the program registered, as the Pulumi mocks saw it. */
export interface MockedResource {
  readonly type: string;
  readonly name: string;
  /** Inputs with secrets unwrapped to their values. */
  readonly inputs: Record<string, unknown>;
  /** Top-level input properties that arrived as (or holding) secrets. */
  readonly secretInputs: readonly string[];
  readonly custom: boolean;
}

/** Pulumi's marker for a serialized secret value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

function unwrapSecrets(value: unknown, found: { secret: boolean }): unknown {
  if (Array.isArray(value)) return value.map((v) => unwrapSecrets(v, found));
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] === SECRET_VALUE) {
      found.secret = true;
      return unwrapSecrets(obj["value"], found);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v, found)]));
  }
  return value;
}

export interface StackRun {
  readonly resources: readonly MockedResource[];
  /** URNs in registration order, as the engine would compute them (duplicates kept). */
  readonly urns: readonly string[];
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Whether each stack output is marked secret. */
  readonly outputIsSecret: Readonly<Record<string, boolean>>;
  /** What the program threw, if it did (e.g. a ConfigError). */
  readonly error?: unknown;
}

export interface RunOptions {
  /** Plain keys replacing the stack file's (below the namespace). */
  readonly plain?: Readonly<Record<string, unknown>>;
  /** Secret values by key; every secret the stack file sets gets `test-secret-<key>` unless given here. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Keys to remove from the stack file's config. */
  readonly remove?: readonly string[];
}

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
const PROGRAM = path.join(REPO_ROOT, "index.ts");
export const stackFile = (name: string): string => path.join(REPO_ROOT, "stacks", `Pulumi.${name}.yaml`);
export const testSecret = (key: string): string => `test-secret-${key}`;

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

/**
 * Runs index.ts against Pulumi mocks with a stack's config: the stack file's values (with
 * overrides), set in the runtime before the program is imported, as `pulumi up` would.
 */
export async function runStack(stack: string, options: RunOptions = {}): Promise<StackRun> {
  vi.resetModules();
  const raw = readStackFile(stackFile(stack));
  const plain: Record<string, unknown> = { ...raw.plain, ...options.plain };
  for (const k of options.remove ?? []) delete plain[k];
  const secrets: Record<string, string> = Object.fromEntries(
    raw.secretKeys.filter((k) => !(options.remove ?? []).includes(k)).map((k) => [k, testSecret(k)]),
  );
  Object.assign(secrets, options.secrets);

  const resources: MockedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs: Record<string, unknown> = {};
        const secretInputs: string[] = [];
        for (const [k, v] of Object.entries(args.inputs as Record<string, unknown>)) {
          const found = { secret: false };
          inputs[k] = unwrapSecrets(v, found);
          if (found.secret) secretInputs.push(k);
        }
        resources.push({ type: args.type, name: args.name, inputs, secretInputs, custom: args.custom ?? false });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "docker:index/remoteImage:RemoteImage") state["imageId"] = `sha256:${args.name}`;
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "gpu-monitoring",
    stack,
    false,
  );
  const urns: string[] = [];
  const monitor = settings.getMonitor() as unknown as UrnMinter;
  const mint = monitor.newUrn.bind(monitor);
  monitor.newUrn = (parent, type, name) => {
    const urn = mint(parent, type, name);
    urns.push(urn);
    return urn;
  };

  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(plain)) config[`gpu-monitoring:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  for (const [k, v] of Object.entries(secrets)) config[`gpu-monitoring:${k}`] = v;
  pulumi.runtime.setAllConfig(config, Object.keys(secrets).map((k) => `gpu-monitoring:${k}`));

  // Imported by path: vi.resetModules() above makes every run execute the program afresh.
  let program: Record<string, unknown>;
  try {
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

export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";
export const NETWORK = "docker:index/network:Network";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

export function ofType(run: StackRun, type: string): MockedResource[] {
  return run.resources.filter((r) => r.type === type);
}

export interface ContainerView {
  readonly name: string;
  readonly ports: { internal: number; external: number; ip: string }[];
  readonly uploads: { file: string; content: string; permissions?: string; owner?: string }[];
  readonly volumes: { volumeName?: string; hostPath?: string; containerPath: string; readOnly?: boolean }[];
  readonly capabilities: { adds?: string[]; drops?: string[] };
  readonly readOnly: boolean;
  readonly user?: string;
  readonly envs: string[];
  readonly deviceRequests?: unknown[];
  readonly devices?: { hostPath: string }[];
  readonly command: string[];
  readonly healthcheck?: { tests: string[] };
  readonly restart: string;
  readonly networksAdvanced?: { name: string; aliases: string[] }[];
}

export function containers(run: StackRun): Map<string, ContainerView> {
  return new Map(ofType(run, CONTAINER).map((r) => [r.inputs["name"] as string, r.inputs as unknown as ContainerView]));
}
