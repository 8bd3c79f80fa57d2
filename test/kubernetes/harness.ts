import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { vi } from "vitest";
import { readStackFile } from "../../components/config";

/**
 * Runs the Pulumi program (index.ts) against Pulumi mocks with the k8s stack's config, the way
 * `pulumi up -s k8s` would: config set in the runtime before the program is imported, a fresh
 * module graph per run. Every Kubernetes object the program declares comes back as a manifest
 * (apiVersion/kind from the provider's inputs), ready for schema validation.
 */

export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly custom: boolean;
  readonly urn: string;
  /** Input paths whose value was a Pulumi secret. */
  readonly secretPaths: readonly string[];
  /** Provider reference (`urn::id`) the resource was created with. */
  readonly provider?: string;
}

/** A Kubernetes object as the provider would send it to the API server. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

export interface K8sRun {
  readonly resources: readonly Registered[];
  readonly objects: readonly K8sObject[];
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly outputIsSecret: Readonly<Record<string, boolean>>;
}

export interface RunOptions {
  /** Plain keys replacing the stack file's (below the `gpu-monitoring:` namespace). */
  readonly plain?: Readonly<Record<string, unknown>>;
  /** Extra or replaced secrets; every secret the stack file sets gets `test-secret-<key>`. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** `kubernetes` settings merged (one level deep) into the stack file's. */
  readonly kubernetes?: Readonly<Record<string, unknown>>;
}

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
const PROGRAM = path.join(REPO_ROOT, "index.ts");
const PLATFORM = path.join(REPO_ROOT, "components", "platforms", "kubernetes", "index.ts");
export const K8S_STACK = path.join(REPO_ROOT, "stacks", "Pulumi.k8s.yaml");
export const testSecret = (key: string): string => `test-secret-${key}`;

interface UrnMinter {
  newUrn(parent: string, type: string, name: string): string;
}

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

/** The stack file's plain config with the run's overrides applied. */
export function k8sStackConfig(options: RunOptions = {}): { plain: Record<string, unknown>; secrets: Record<string, string> } {
  const raw = readStackFile(K8S_STACK);
  const plain: Record<string, unknown> = { ...raw.plain, ...options.plain };
  if (options.kubernetes) plain["kubernetes"] = { ...(plain["kubernetes"] as object), ...options.kubernetes };
  const secrets: Record<string, string> = Object.fromEntries(raw.secretKeys.map((k) => [k, testSecret(k)]));
  Object.assign(secrets, options.secrets);
  return { plain, secrets };
}

/** Pulumi's marker for a secret value in serialized inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Replaces each serialized secret by its value; `onSecret` sees the path of each one. */
export function unwrapSecrets(value: unknown, onSecret: (path: string) => void = () => {}, path = ""): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, onSecret, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    const rec = value as Record<string, unknown>;
    if (SECRET_SIG in rec && "value" in rec) {
      onSecret(path);
      return unwrapSecrets(rec["value"], onSecret, path);
    }
    return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, unwrapSecrets(v, onSecret, path ? `${path}.${k}` : k)]));
  }
  return value;
}

/** `kubernetes:apps/v1:StatefulSet` → apps/v1; `kubernetes:core/v1:Service` → v1. */
function apiVersionOf(type: string): string {
  const m = /^kubernetes:([^/]+)\/([^:]+):/.exec(type);
  if (!m) return "";
  return m[1] === "core" ? m[2]! : `${m[1]}/${m[2]}`;
}

export async function runK8sStack(options: RunOptions = {}): Promise<K8sRun> {
  vi.resetModules();
  const { plain, secrets } = k8sStackConfig(options);

  const resources: Registered[] = [];
  const urnOf = new Map<string, string>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const secretPaths: string[] = [];
        resources.push({
          type: args.type,
          name: args.name,
          inputs: unwrapSecrets(args.inputs, (p) => secretPaths.push(p)) as Record<string, unknown>,
          secretPaths,
          ...(args.provider ? { provider: args.provider } : {}),
          custom: args.custom ?? false,
          urn: urnOf.get(`${args.type}::${args.name}`) ?? "",
        });
        return { id: `${args.name}-id`, state: { ...args.inputs } };
      },
      call: (args) => args.inputs,
    },
    "gpu-monitoring",
    "k8s",
    false,
  );
  const monitor = settings.getMonitor() as unknown as UrnMinter;
  const mint = monitor.newUrn.bind(monitor);
  const urns: string[] = [];
  monitor.newUrn = (parent, type, name) => {
    const urn = mint(parent, type, name);
    urns.push(urn);
    urnOf.set(`${type}::${name}`, urn);
    return urn;
  };

  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(plain)) config[`gpu-monitoring:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  for (const [k, v] of Object.entries(secrets)) config[`gpu-monitoring:${k}`] = v;
  pulumi.runtime.setAllConfig(config, Object.keys(secrets).map((k) => `gpu-monitoring:${k}`));

  // The platform module registers `platform: kubernetes`; it is loaded into the same fresh module
  // graph as the program, as the package entry point does.
  await import(PLATFORM);
  const program = (await import(PROGRAM)) as Record<string, unknown>;
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
  const dup = urns.find((u, i) => urns.indexOf(u) !== i);
  if (dup) throw new Error(`duplicate URN ${dup}`);

  const objects = resources
    .filter((r) => r.custom && r.type.startsWith("kubernetes:"))
    .map((r) => ({ ...r.inputs, apiVersion: apiVersionOf(r.type), kind: r.type.slice(r.type.lastIndexOf(":") + 1) }) as unknown as K8sObject);
  return { resources, objects, outputs, outputIsSecret };
}

export function ofKind(run: K8sRun, kind: string): K8sObject[] {
  return run.objects.filter((o) => o.kind === kind);
}

export function named(run: K8sRun, kind: string, name: string): K8sObject {
  const o = run.objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}; have ${run.objects.filter((x) => x.kind === kind).map((x) => x.metadata.name).join(", ")}`);
  return o;
}

export const WORKLOAD_KINDS = ["StatefulSet", "Deployment", "DaemonSet"] as const;

interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown> & { containers: Record<string, unknown>[]; volumes?: { name: string }[] };
}

export function workloads(run: K8sRun): K8sObject[] {
  return run.objects.filter((o) => (WORKLOAD_KINDS as readonly string[]).includes(o.kind));
}

export function templateOf(o: K8sObject): PodTemplate {
  return (o["spec"] as { template: PodTemplate }).template;
}
