import { BUNDLE_PATHS } from "../../../components/render/bundle";
import { fieldChanges, isRecord, keyed, pairUp, show, without } from "../fields";
import type { Change, Differ, ExportFiles, FieldChange } from "../model";
import { claimed } from "../model";
import { jsonOf } from "../parse";

/** Grafana dashboards by UID; panels by title (then id); queries by refId; variables by name. */

type Obj = Record<string, unknown>;

interface Dashboard {
  readonly uid: string;
  readonly file: string;
  readonly body: Obj;
}

const DASHBOARDS_DIR = `${BUNDLE_PATHS.grafanaDashboards}/`;

function dashboardsOf(files: ExportFiles): Map<string, Dashboard> {
  const list: Dashboard[] = [];
  for (const [file, text] of claimed(files, dashboardsDiffer)) {
    const body = jsonOf(file, text);
    if (isRecord(body)) list.push({ uid: typeof body.uid === "string" ? body.uid : file, file, body });
  }
  return keyed(list, (d) => d.uid);
}

/** Every panel, rows' collapsed panels included. */
function panelsOf(d: Obj): Obj[] {
  const top = Array.isArray(d.panels) ? d.panels.filter(isRecord) : [];
  return top.flatMap((p) => [p, ...(Array.isArray(p.panels) ? p.panels.filter(isRecord) : [])]);
}

const panelName = (p: Obj) => `panel "${show(p.title ?? "")}" (id ${show(p.id)})`;

/** Panels of two versions paired: by title where titles are unique, then the rest by id. */
function pairPanels(before: Obj[], after: Obj[]): { pairs: [Obj, Obj][]; added: Obj[]; removed: Obj[] } {
  const pairs: [Obj, Obj][] = [];
  const rest = { before: [...before], after: [...after] };
  const unique = (list: Obj[], title: unknown) => list.filter((p) => p.title === title).length === 1;
  for (const by of [(p: Obj, q: Obj) => p.title === q.title && unique(before, p.title) && unique(after, q.title), (p: Obj, q: Obj) => p.id === q.id]) {
    for (const p of [...rest.before]) {
      const q = rest.after.find((x) => by(p, x));
      if (!q) continue;
      pairs.push([p, q]);
      rest.before.splice(rest.before.indexOf(p), 1);
      rest.after.splice(rest.after.indexOf(q), 1);
    }
  }
  return { pairs, added: rest.after, removed: rest.before };
}

const grid = (g: unknown) => (isRecord(g) ? `x=${show(g.x)} y=${show(g.y)} w=${show(g.w)} h=${show(g.h)}` : undefined);

function steps(thresholds: unknown): string | undefined {
  if (!isRecord(thresholds) || !Array.isArray(thresholds.steps)) return undefined;
  const list = thresholds.steps.filter(isRecord).map((s) => (s.value === null || s.value === undefined ? show(s.color) : `${show(s.value)} ${show(s.color)}`));
  return `${thresholds.mode === "percentage" ? "% " : ""}${list.join(", ")}`;
}

function changedField(field: string, before: string | undefined, after: string | undefined): FieldChange[] {
  return before === after ? [] : [{ field, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) }];
}

function targetsOf(p: Obj): Map<string, Obj> {
  return keyed(Array.isArray(p.targets) ? p.targets.filter(isRecord) : [], (t) => show(t.refId ?? "?"));
}

function panelFields(before: Obj, after: Obj): FieldChange[] {
  const fields: FieldChange[] = [];
  const [tb, ta] = [targetsOf(before), targetsOf(after)];
  for (const ref of new Set([...tb.keys(), ...ta.keys()])) {
    const [b, a] = [tb.get(ref), ta.get(ref)];
    fields.push(...changedField(`query ${ref}`, b && show(b.expr ?? b.query ?? ""), a && show(a.expr ?? a.query ?? "")));
    if (b && a) fields.push(...fieldChanges(without(b, ["expr", "query", "refId"]), without(a, ["expr", "query", "refId"]), `query ${ref}`));
  }
  const defaults = (p: Obj) => (isRecord(p.fieldConfig) && isRecord(p.fieldConfig.defaults) ? p.fieldConfig.defaults : {});
  const [db, da] = [defaults(before), defaults(after)];
  fields.push(...changedField("unit", db.unit === undefined ? undefined : show(db.unit), da.unit === undefined ? undefined : show(da.unit)));
  fields.push(...changedField("thresholds", steps(db.thresholds), steps(da.thresholds)));
  const rest = (p: Obj, d: Obj) => ({ ...without(p, ["id", "gridPos", "targets", "panels", "fieldConfig"]), fieldConfig: { ...without(p.fieldConfig, ["defaults"]), defaults: without(d, ["unit", "thresholds"]) } });
  fields.push(...fieldChanges(rest(before, db), rest(after, da)));
  return fields;
}

function variableChanges(uid: string, before: Obj, after: Obj): Change[] {
  const vars = (d: Obj) => keyed(isRecord(d.templating) && Array.isArray(d.templating.list) ? d.templating.list.filter(isRecord) : [], (v) => show(v.name));
  const [vb, va] = [vars(before), vars(after)];
  const { removed, added, both } = pairUp(vb, va);
  const where = `dashboard ${uid}`;
  const changes: Change[] = [];
  for (const name of both) {
    const fields = fieldChanges(vb.get(name), va.get(name));
    if (fields.length > 0) changes.push({ area: "dashboards", kind: "changed", subject: `variable $${name}`, where, fields });
  }
  for (const name of added) changes.push({ area: "dashboards", kind: "added", subject: `variable $${name}`, where, fields: changedField("query", undefined, show(va.get(name)?.query ?? "")) });
  for (const name of removed) changes.push({ area: "dashboards", kind: "removed", subject: `variable $${name}`, where });
  return changes;
}

function dashboardChanges(uid: string, before: Obj, after: Obj): Change[] {
  const where = `dashboard ${uid}`;
  const changes: Change[] = [];
  const top = fieldChanges(without(before, ["panels", "templating"]), without(after, ["panels", "templating"]));
  if (top.length > 0) changes.push({ area: "dashboards", kind: "changed", subject: `dashboard ${uid}`, fields: top });
  const { pairs, added, removed } = pairPanels(panelsOf(before), panelsOf(after));
  for (const [b, a] of pairs) {
    const moved = changedField("gridPos", grid(b.gridPos), grid(a.gridPos));
    const fields = [...changedField("title", show(b.title), show(a.title)), ...panelFields(b, a)];
    if (fields.length > 0) changes.push({ area: "dashboards", kind: "changed", subject: panelName(a), where, fields: [...fields, ...moved] });
    else if (moved.length > 0) changes.push({ area: "dashboards", kind: "moved", subject: panelName(a), where, fields: moved });
  }
  for (const p of added) {
    const queries = [...targetsOf(p)].map(([ref, t]): FieldChange => ({ field: `query ${ref}`, after: show(t.expr ?? t.query ?? "") }));
    changes.push({ area: "dashboards", kind: "added", subject: panelName(p), where, fields: queries });
  }
  for (const p of removed) changes.push({ area: "dashboards", kind: "removed", subject: panelName(p), where });
  return [...changes, ...variableChanges(uid, before, after)];
}

function diffDashboards(before: ExportFiles, after: ExportFiles): Change[] {
  const [b, a] = [dashboardsOf(before), dashboardsOf(after)];
  const { removed, added, both } = pairUp(b, a);
  const changes: Change[] = [];
  for (const uid of both) {
    const [db, da] = [b.get(uid), a.get(uid)];
    if (db && da) changes.push(...dashboardChanges(uid, db.body, da.body));
  }
  for (const uid of added) changes.push({ area: "dashboards", kind: "added", subject: `dashboard ${uid}`, where: a.get(uid)?.file, fields: [{ field: "title", after: show(a.get(uid)?.body.title) }] });
  for (const uid of removed) changes.push({ area: "dashboards", kind: "removed", subject: `dashboard ${uid}`, where: b.get(uid)?.file });
  return changes;
}

export const dashboardsDiffer: Differ = {
  claims: (path) => path.startsWith(DASHBOARDS_DIR) && path.endsWith(".json"),
  diff: diffDashboards,
};
