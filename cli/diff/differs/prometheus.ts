import { BUNDLE_PATHS } from "../../../components/render/bundle";
import { DOCKER_SERVICES_FILE, KUBERNETES_MANIFESTS_FILE } from "../../deploymentRecord";
import { fieldChanges, isRecord, keyed, pairUp, show, without } from "../fields";
import type { Change, Differ, ExportFiles, FieldChange } from "../model";
import { yamlOf } from "../parse";

/** prometheus.yml by section: global settings, scrape jobs by name, the rest field by field; retention from the server's flags. */

type Obj = Record<string, unknown>;

/** Prometheus' retention flags; the platform differs leave them to this one. */
export const RETENTION_FLAGS = ["--storage.tsdb.retention.time", "--storage.tsdb.retention.size"] as const;

/** Retention is a server flag, not in prometheus.yml: read from what the platform runs. */
function retentionOf(files: ExportFiles): Map<string, string> {
  const text = `${files.get(DOCKER_SERVICES_FILE) ?? ""}\n${files.get(KUBERNETES_MANIFESTS_FILE) ?? ""}`;
  const found = new Map<string, string>();
  for (const m of text.matchAll(/--storage\.tsdb\.retention\.(time|size)=(\S+)/g)) found.set(`retention ${m[1] ?? ""}`, m[2] ?? "");
  return found;
}

function targets(job: Obj): string[] {
  const statics = Array.isArray(job.static_configs) ? job.static_configs.filter(isRecord) : [];
  return statics.flatMap((s) => (Array.isArray(s.targets) ? s.targets.map(show) : [])).sort();
}

/** Targets as a set: which were added and which removed. */
function targetChanges(before: Obj, after: Obj): FieldChange[] {
  const [b, a] = [targets(before), targets(after)];
  if (b.join("\n") === a.join("\n")) return [];
  return [{ field: "targets", before: b.filter((t) => !a.includes(t)).join(", ") || "(none removed)", after: a.filter((t) => !b.includes(t)).join(", ") || "(none added)" }];
}

function jobChanges(before: unknown, after: unknown): Change[] {
  const jobs = (doc: unknown) => keyed(isRecord(doc) && Array.isArray(doc.scrape_configs) ? doc.scrape_configs.filter(isRecord) : [], (j) => show(j.job_name));
  const [jb, ja] = [jobs(before), jobs(after)];
  const { removed, added, both } = pairUp(jb, ja);
  const changes: Change[] = [];
  for (const name of both) {
    const [b, a] = [jb.get(name) ?? {}, ja.get(name) ?? {}];
    const fields = [...targetChanges(b, a), ...fieldChanges(without(b, ["job_name", "static_configs"]), without(a, ["job_name", "static_configs"]))];
    if (fields.length > 0) changes.push({ area: "prometheus", kind: "changed", subject: `scrape job ${name}`, fields });
  }
  for (const name of added) {
    const a = ja.get(name) ?? {};
    const fields: FieldChange[] = [{ field: "scrape_interval", after: show(a.scrape_interval ?? "(global)") }];
    if (targets(a).length > 0) fields.push({ field: "targets", after: targets(a).join(", ") });
    changes.push({ area: "prometheus", kind: "added", subject: `scrape job ${name}`, fields });
  }
  for (const name of removed) changes.push({ area: "prometheus", kind: "removed", subject: `scrape job ${name}` });
  return changes;
}

function diffPrometheus(before: ExportFiles, after: ExportFiles): Change[] {
  const path = BUNDLE_PATHS.prometheusConfig;
  const [b, a] = [yamlOf(path, before.get(path)), yamlOf(path, after.get(path))];
  const changes: Change[] = [];
  if ((b === undefined) !== (a === undefined)) changes.push({ area: "prometheus", kind: b === undefined ? "added" : "removed", subject: "Prometheus", where: path });
  const section = (doc: unknown, key: string): unknown => (isRecord(doc) ? doc[key] : undefined);
  const global = fieldChanges(section(b, "global") ?? {}, section(a, "global") ?? {});
  if (global.length > 0) changes.push({ area: "prometheus", kind: "changed", subject: "global settings", fields: global });
  changes.push(...jobChanges(b, a));
  const [rb, ra] = [retentionOf(before), retentionOf(after)];
  const retention = fieldChanges(Object.fromEntries(rb), Object.fromEntries(ra));
  if (retention.length > 0) changes.push({ area: "prometheus", kind: "changed", subject: "storage", fields: retention });
  const rest = fieldChanges(without(b, ["global", "scrape_configs"]), without(a, ["global", "scrape_configs"]));
  // One entry per top-level section (alerting, remote_write, rule_files, ...).
  const bySection = keyed(rest, (f) => f.field.split(/[.[ ]/)[0] ?? f.field);
  const sections = new Map<string, FieldChange[]>();
  for (const [key, f] of bySection) {
    const name = key.replace(/ #\d+$/, "");
    sections.set(name, [...(sections.get(name) ?? []), f]);
  }
  for (const [name, fields] of sections) changes.push({ area: "prometheus", kind: "changed", subject: name, fields });
  return changes;
}

export const prometheusDiffer: Differ = {
  claims: (path) => path === BUNDLE_PATHS.prometheusConfig,
  diff: diffPrometheus,
};
