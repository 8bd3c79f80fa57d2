import { CONFIG_CHECKSUM_ANNOTATION } from "../../../components/platforms/kubernetes/pod";
import { KUBERNETES_MANIFESTS_FILE } from "../../deploymentRecord";
import { fieldChanges, isRecord, keyed, pairUp, show, without } from "../fields";
import type { Change, Differ, ExportFiles, FieldChange } from "../model";
import { yamlDocumentsOf } from "../parse";
import { withoutRetention } from "./platform";

/**
 * Kubernetes objects (kubernetes/manifests.yaml) by kind, namespace and name, field by field.
 * ConfigMaps hold the config files the other differs already compare: those keys are left to them,
 * and of any other key only that it changed is said. Secrets say only which keys changed.
 */

type Obj = Record<string, unknown>;

function objectsOf(files: ExportFiles): Map<string, Obj> {
  const docs = yamlDocumentsOf(KUBERNETES_MANIFESTS_FILE, files.get(KUBERNETES_MANIFESTS_FILE)).filter(isRecord);
  return keyed(docs, (d) => {
    const meta = isRecord(d.metadata) ? d.metadata : {};
    return `${show(d.kind)} ${meta.namespace === undefined ? "" : `${show(meta.namespace)}/`}${show(meta.name)}`;
  });
}

/** Keys of a data map whose value changed, were added or removed; values never shown. */
function dataKeyChanges(field: string, before: unknown, after: unknown, note: string): FieldChange[] {
  const [b, a] = [isRecord(before) ? before : {}, isRecord(after) ? after : {}];
  return [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .filter((k) => b[k] !== a[k])
    .map((k) => ({ field: `${field}[${k}]`, note: k in b ? (k in a ? note : "removed") : "added" }));
}

/** Paths a reader knows: `containers[grafana].resources.limits.memory`, not the full pod template path. */
const shorter = (f: FieldChange): FieldChange => ({ ...f, field: f.field.replace(/^spec\.template\.spec\./, "").replace(/^spec\.template\.metadata\./, "pod ") });

/** A ConfigMap's data without the keys that hold an exported file on both sides: those files are compared on their own. */
function unexported(data: unknown, other: unknown, exported: ReadonlySet<string>, otherExported: ReadonlySet<string>): Obj {
  const [mine, theirs] = [isRecord(data) ? data : {}, isRecord(other) ? other : {}];
  return Object.fromEntries(Object.entries(mine).filter(([k, v]) => !(exported.has(show(v)) && otherExported.has(show(theirs[k])))));
}

function objectFields(kind: string, before: Obj, after: Obj, files: { before: ReadonlySet<string>; after: ReadonlySet<string> }): FieldChange[] {
  if (kind === "ConfigMap") {
    const [db, da] = [unexported(before.data, after.data, files.before, files.after), unexported(after.data, before.data, files.after, files.before)];
    return [
      ...dataKeyChanges("data", db, da, "content changed"),
      ...fieldChanges(without(before, ["data"]), without(after, ["data"])),
    ];
  }
  if (kind === "Secret") {
    return [
      ...dataKeyChanges("stringData", before.stringData, after.stringData, "changed (value not shown)"),
      ...dataKeyChanges("data", before.data, after.data, "changed (value not shown)"),
      ...fieldChanges(without(before, ["stringData", "data"]), without(after, ["stringData", "data"])),
    ];
  }
  return withoutRetention(fieldChanges(before, after).map(shorter)).filter((f) => !f.field.endsWith(`annotations.${CONFIG_CHECKSUM_ANNOTATION}`));
}

function diffKubernetes(before: ExportFiles, after: ExportFiles): Change[] {
  const [b, a] = [objectsOf(before), objectsOf(after)];
  const { removed, added, both } = pairUp(b, a);
  const files = { before: new Set(before.values()), after: new Set(after.values()) };
  const changes: Change[] = [];
  for (const key of both) {
    const [ob, oa] = [b.get(key) ?? {}, a.get(key) ?? {}];
    const fields = objectFields(show(oa.kind), ob, oa, files);
    if (fields.length > 0) changes.push({ area: "kubernetes", kind: "changed", subject: key, fields });
  }
  for (const key of added) changes.push({ area: "kubernetes", kind: "added", subject: key });
  for (const key of removed) changes.push({ area: "kubernetes", kind: "removed", subject: key });
  return changes;
}

export const kubernetesDiffer: Differ = {
  claims: (path) => path === KUBERNETES_MANIFESTS_FILE,
  diff: diffKubernetes,
};
