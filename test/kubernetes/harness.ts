import * as path from "node:path";
import { readStackFile } from "../../components/config";
import { REPO_ROOT, runProgram, testSecret, unwrapSecrets, type Registered } from "../support/pulumi-program";

export { REPO_ROOT, testSecret, unwrapSecrets, type Registered };

/**
 * Runs the Pulumi program (index.ts) against Pulumi mocks with the k8s stack's config, the way
 * `pulumi up -s k8s` would: config set in the runtime before the program is imported, a fresh
 * module graph per run. Every Kubernetes object the program declares comes back as a manifest
 * (apiVersion/kind from the provider's inputs), ready for schema validation.
 */

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

const PLATFORM = path.join(REPO_ROOT, "components", "platforms", "kubernetes", "index.ts");
export const K8S_STACK = path.join(REPO_ROOT, "stacks", "Pulumi.k8s.yaml");

/** The stack file's plain config with the run's overrides applied. */
export function k8sStackConfig(options: RunOptions = {}): { plain: Record<string, unknown>; secrets: Record<string, string> } {
  const raw = readStackFile(K8S_STACK);
  const plain: Record<string, unknown> = { ...raw.plain, ...options.plain };
  if (options.kubernetes) plain["kubernetes"] = { ...(plain["kubernetes"] as object), ...options.kubernetes };
  const secrets: Record<string, string> = Object.fromEntries(raw.secretKeys.map((k) => [k, testSecret(k)]));
  Object.assign(secrets, options.secrets);
  return { plain, secrets };
}

/** `kubernetes:apps/v1:StatefulSet` → apps/v1; `kubernetes:core/v1:Service` → v1. */
function apiVersionOf(type: string): string {
  const m = /^kubernetes:([^/]+)\/([^:]+):/.exec(type);
  if (!m) return "";
  return m[1] === "core" ? m[2]! : `${m[1]}/${m[2]}`;
}

export async function runK8sStack(options: RunOptions = {}): Promise<K8sRun> {
  const { plain, secrets } = k8sStackConfig(options);
  // The platform module registers `platform: kubernetes`; it is loaded into the same fresh module
  // graph as the program, as the package entry point does.
  const run = await runProgram({ stack: "k8s", plain, secrets, preload: [PLATFORM] });
  if (run.error) throw run.error;
  const dup = run.urns.find((u, i) => run.urns.indexOf(u) !== i);
  if (dup) throw new Error(`duplicate URN ${dup}`);

  const objects = run.resources
    .filter((r) => r.custom && r.type.startsWith("kubernetes:"))
    .map((r) => ({ ...r.inputs, apiVersion: apiVersionOf(r.type), kind: r.type.slice(r.type.lastIndexOf(":") + 1) }) as unknown as K8sObject);
  return { resources: run.resources, objects, outputs: run.outputs, outputIsSecret: run.outputIsSecret };
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
