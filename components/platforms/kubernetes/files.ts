import { createHash } from "node:crypto";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import type { ServiceSpec } from "../../spec";
import type { ManifestOf } from "./manifest";

/**
 * A service's config files become ConfigMaps (one per directory, so no single object nears the
 * 1 MiB limit when dashboards grow), its secret files and secret env vars one Secret. Files are
 * mounted one by one with subPath, so the rest of the image's directory stays visible.
 */

/** ConfigMap/Secret data keys allow only [-._a-zA-Z0-9]. */
export function dataKey(filePath: string): string {
  return filePath.replace(/^\/+/, "").replace(/[^-._a-zA-Z0-9]/g, "_");
}

/** A DNS-1123 name part from a directory path: /etc/grafana/provisioning -> etc-grafana-provisioning. */
function dirSlug(dir: string): string {
  return dir.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "root";
}

/** Kubernetes rejects a ConfigMap whose data exceeds 1 MiB; fail at preview instead. */
const CONFIGMAP_LIMIT_BYTES = 1024 * 1024 - 4096;

export interface FileObjects {
  readonly configMaps: ManifestOf<"ConfigMap">[];
  readonly secret?: ManifestOf<"Secret">;
  readonly volumes: k8s.types.input.core.v1.Volume[];
  readonly mounts: k8s.types.input.core.v1.VolumeMount[];
  readonly secretEnv: k8s.types.input.core.v1.EnvVar[];
  /** sha256 over every config file's path and content: the pod template's roll-out key. */
  readonly checksum: string;
}

export function secretName(workloadName: string): string {
  return `${workloadName}-secrets`;
}

export function fileObjects(
  spec: ServiceSpec,
  workloadName: string,
  namespace: string,
  labels: Record<string, string>,
  secretValue: (key: string) => pulumi.Input<string>,
): FileObjects {
  const byDir = new Map<string, ServiceSpec["configFiles"][number][]>();
  for (const file of [...spec.configFiles].sort((a, b) => a.path.localeCompare(b.path))) {
    const dir = path.posix.dirname(file.path);
    byDir.set(dir, [...(byDir.get(dir) ?? []), file]);
  }

  const configMaps: ManifestOf<"ConfigMap">[] = [];
  const volumes: k8s.types.input.core.v1.Volume[] = [];
  const mounts: k8s.types.input.core.v1.VolumeMount[] = [];
  let index = 0;
  for (const [dir, files] of [...byDir.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const name = `${workloadName}-${dirSlug(dir)}`.slice(0, 253).replace(/-+$/, "");
    const data = Object.fromEntries(files.map((f) => [dataKey(f.path), f.content]));
    const bytes = Object.values(data).reduce((n, c) => n + Buffer.byteLength(c), 0);
    if (bytes > CONFIGMAP_LIMIT_BYTES) {
      throw new Error(`${spec.name}: config files under ${dir} total ${bytes} bytes, over the ${CONFIGMAP_LIMIT_BYTES}-byte ConfigMap limit`);
    }
    configMaps.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels }, data });
    const volume = `config-${index++}`;
    volumes.push({ name: volume, configMap: { name } });
    for (const f of files) mounts.push({ name: volume, mountPath: f.path, subPath: dataKey(f.path), readOnly: true });
  }

  const secretKeys = [...new Set([...spec.secretFiles.map((f) => f.secretKey), ...spec.secretEnv.map((e) => e.secretKey)])].sort();
  let secret: ManifestOf<"Secret"> | undefined;
  if (secretKeys.length > 0) {
    const name = secretName(workloadName);
    secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace, labels },
      type: "Opaque",
      stringData: Object.fromEntries(secretKeys.map((k) => [dataKey(k), secretValue(k)])),
    };
    if (spec.secretFiles.length > 0) {
      // 0440 with the pod's fsGroup: readable by the non-root process, by no one else.
      volumes.push({ name: "secrets", secret: { secretName: name, defaultMode: 0o440 } });
      for (const f of spec.secretFiles) mounts.push({ name: "secrets", mountPath: f.path, subPath: dataKey(f.secretKey), readOnly: true });
    }
  }
  const secretEnv = spec.secretEnv.map((e) => ({
    name: e.name,
    valueFrom: { secretKeyRef: { name: secretName(workloadName), key: dataKey(e.secretKey) } },
  }));

  const hash = createHash("sha256");
  for (const f of [...spec.configFiles].sort((a, b) => a.path.localeCompare(b.path))) hash.update(`${f.path}\0${f.content}\0`);
  return { configMaps, secret, volumes, mounts, secretEnv, checksum: hash.digest("hex") };
}
