import { BUNDLE_PATHS } from "../../../components/render/bundle";
import { fieldChanges, isRecord, keyed, pairUp, show } from "../fields";
import type { Area, Change, Differ, ExportFiles, FieldChange } from "../model";
import { claimed } from "../model";
import { yamlOf } from "../parse";

/** Alerting and recording rules, by group and name: added, removed, renamed, moved, and field by field. */

interface Rule {
  readonly kind: "alert" | "record";
  readonly name: string;
  readonly group: string;
  readonly file: string;
  readonly body: Record<string, unknown>;
}

const RULES_DIR = `${BUNDLE_PATHS.prometheusRules}/`;

function rulesOf(files: ExportFiles): { rules: Rule[]; groups: Map<string, Record<string, unknown>>; recordingOnly: Set<string> } {
  const rules: Rule[] = [];
  const groups = new Map<string, Record<string, unknown>>();
  for (const [file, text] of claimed(files, rulesDiffer)) {
    const doc = yamlOf(file, text);
    const list = isRecord(doc) && Array.isArray(doc.groups) ? doc.groups : [];
    for (const g of list) {
      if (!isRecord(g)) continue;
      const group = String(g.name);
      groups.set(group, { file, interval: g.interval, limit: g.limit });
      for (const r of Array.isArray(g.rules) ? g.rules : []) {
        if (!isRecord(r)) continue;
        const kind = typeof r.alert === "string" ? "alert" : "record";
        rules.push({ kind, name: String(r.alert ?? r.record), group, file, body: r });
      }
    }
  }
  const withAlerts = new Set(rules.filter((r) => r.kind === "alert").map((r) => r.group));
  return { rules, groups, recordingOnly: new Set([...groups.keys()].filter((g) => !withAlerts.has(g))) };
}

/** Numbers a comparison in the expression tests against: `... > 85` gives 85. */
const COMPARISON = /(?:[<>]=?|[!=]=)\s*(?:bool\s+)?(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\b/gi;

export function thresholdsOf(expr: string): string[] {
  return [...expr.matchAll(COMPARISON)].map((m) => m[1] ?? "");
}

const withoutThresholds = (expr: string) => expr.replace(COMPARISON, (m, n: string) => m.slice(0, m.length - n.length) + "#");

/** The expression as a reviewer wants it: thresholds as numbers when only they moved, else the whole expression. */
function exprChanges(before: string, after: string): FieldChange[] {
  if (before === after) return [];
  const [tb, ta] = [thresholdsOf(before), thresholdsOf(after)];
  const thresholds: FieldChange[] = [];
  if (tb.length === ta.length) {
    const changed = tb.map((b, i) => [b, ta[i] ?? ""] as const).filter(([b, a]) => b !== a);
    if (changed.length > 0) thresholds.push({ field: "threshold", before: changed.map(([b]) => b).join(", "), after: changed.map(([, a]) => a).join(", ") });
  } else if (tb.join() !== ta.join()) {
    thresholds.push({ field: "threshold", before: tb.join(", ") || "(none)", after: ta.join(", ") || "(none)" });
  }
  if (withoutThresholds(before) === withoutThresholds(after)) return thresholds;
  return [...thresholds, { field: "expr", before, after }];
}

function ruleFields(before: Rule, after: Rule): FieldChange[] {
  const { expr: eb, alert: _ab, record: _rb, ...restBefore } = before.body;
  const { expr: ea, alert: _aa, record: _ra, ...restAfter } = after.body;
  return [...exprChanges(show(eb), show(ea)), ...fieldChanges(restBefore, restAfter)];
}

const area = (r: Rule): Area => (r.kind === "alert" ? "alerts" : "recording rules");
const subject = (r: Rule) => `${r.kind === "alert" ? "alert" : "recording rule"} ${r.name}`;
const where = (r: Rule) => `group ${r.group} (${r.file})`;

function diffRules(before: ExportFiles, after: ExportFiles): Change[] {
  const [b, a] = [rulesOf(before), rulesOf(after)];
  const changes: Change[] = [];
  const groups = pairUp(b.groups, a.groups);
  const groupArea = (g: string, side: typeof a): Area => (side.recordingOnly.has(g) ? "recording rules" : "alerts");
  for (const g of groups.both) {
    const fields = fieldChanges(b.groups.get(g), a.groups.get(g));
    if (fields.length > 0) changes.push({ area: groupArea(g, a), kind: "changed", subject: `rule group ${g}`, where: show(a.groups.get(g)?.file), fields });
  }
  for (const g of groups.added) changes.push({ area: groupArea(g, a), kind: "added", subject: `rule group ${g}`, where: show(a.groups.get(g)?.file) });
  for (const g of groups.removed) changes.push({ area: groupArea(g, b), kind: "removed", subject: `rule group ${g}`, where: show(b.groups.get(g)?.file) });
  const key = (r: Rule) => `${r.kind} ${r.group}/${r.name}`;
  const [bm, am] = [keyed(b.rules, key), keyed(a.rules, key)];
  const { removed, added, both } = pairUp(bm, am);
  for (const k of both) {
    const [rb, ra] = [bm.get(k), am.get(k)];
    if (!rb || !ra) continue;
    const fields = ruleFields(rb, ra);
    if (fields.length > 0) changes.push({ area: area(ra), kind: "changed", subject: subject(ra), where: where(ra), fields });
  }
  // An unmatched rule is the same rule when its name reappears in another group (moved), or its
  // expression reappears under another name (renamed).
  const gone = removed.map((k) => bm.get(k)).filter((r): r is Rule => r !== undefined);
  for (const k of added) {
    const ra = am.get(k);
    if (!ra) continue;
    const i = gone.findIndex((r) => r.kind === ra.kind && r.name === ra.name);
    const j = i >= 0 ? i : gone.findIndex((r) => r.kind === ra.kind && show(r.body.expr) === show(ra.body.expr));
    const rb = j >= 0 ? gone.splice(j, 1)[0] : undefined;
    if (!rb) {
      const fields: FieldChange[] = [{ field: "expr", after: show(ra.body.expr) }];
      if (ra.body.for !== undefined) fields.push({ field: "for", after: show(ra.body.for) });
      const severity = isRecord(ra.body.labels) ? ra.body.labels.severity : undefined;
      if (severity !== undefined) fields.push({ field: "severity", after: show(severity) });
      changes.push({ area: area(ra), kind: "added", subject: subject(ra), where: where(ra), fields });
      continue;
    }
    const fields = ruleFields(rb, ra);
    const also = fields.length > 0 ? { fields } : {};
    if (rb.name === ra.name) changes.push({ area: area(ra), kind: "moved", subject: subject(ra), where: where(ra), from: where(rb), ...also });
    else changes.push({ area: area(ra), kind: "renamed", subject: subject(ra), where: where(ra), from: rb.name, ...also });
  }
  for (const rb of gone) changes.push({ area: area(rb), kind: "removed", subject: subject(rb), where: where(rb) });
  return changes;
}

export const rulesDiffer: Differ = {
  claims: (path) => path.startsWith(RULES_DIR) && /\.ya?ml$/.test(path),
  diff: diffRules,
};
