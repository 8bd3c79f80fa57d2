import * as path from "node:path";
import { readStackFile } from "../../components/config";
import { REPO_ROOT, runProgram, testSecret, type ProgramRun, type Registered } from "../support/pulumi-program";

export { REPO_ROOT, testSecret };

/** A resource the program registered, as the Pulumi mocks saw it. */
export interface MockedResource extends Registered {
  /** Top-level input properties that arrived as (or holding) secrets. */
  readonly secretInputs: readonly string[];
}

export interface StackRun extends ProgramRun {
  readonly resources: readonly MockedResource[];
}

export interface RunOptions {
  /** Plain keys replacing the stack file's (below the namespace). */
  readonly plain?: Readonly<Record<string, unknown>>;
  /** Secret values by key; every secret the stack file sets gets `test-secret-<key>` unless given here. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Keys to remove from the stack file's config. */
  readonly remove?: readonly string[];
}

export const stackFile = (name: string): string => path.join(REPO_ROOT, "stacks", `Pulumi.${name}.yaml`);

/**
 * Runs index.ts against Pulumi mocks with a stack's config: the stack file's values (with
 * overrides), set in the runtime before the program is imported, as `pulumi up` would.
 */
export async function runStack(stack: string, options: RunOptions = {}): Promise<StackRun> {
  const raw = readStackFile(stackFile(stack));
  const plain: Record<string, unknown> = { ...raw.plain, ...options.plain };
  for (const k of options.remove ?? []) delete plain[k];
  const secrets: Record<string, string> = Object.fromEntries(
    raw.secretKeys.filter((k) => !(options.remove ?? []).includes(k)).map((k) => [k, testSecret(k)]),
  );
  Object.assign(secrets, options.secrets);
  const run = await runProgram({ stack, plain, secrets });
  const resources = run.resources.map((r) => ({
    ...r,
    secretInputs: [...new Set(r.secretPaths.map((p) => p.split(/[.[]/)[0]!))],
  }));
  return { ...run, resources };
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
