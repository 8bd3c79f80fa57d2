import { BUNDLE_PATHS } from "../../../components/render/bundle";
import { fieldChanges, isRecord, keyed, pairUp, show, without } from "../fields";
import type { Change, Differ, ExportFiles } from "../model";
import { yamlOf } from "../parse";

/**
 * alertmanager.yml: routes by their matchers, receivers by name, inhibitions by what they match.
 * Receivers' `*_file` fields and credential-like fields say only that they changed.
 */

type Obj = Record<string, unknown>;

const matchersOf = (r: Obj): string => {
  const list = [...(Array.isArray(r.matchers) ? r.matchers : []), ...Object.entries(isRecord(r.match) ? r.match : {}).map(([k, v]) => `${k}=${show(v)}`)];
  return list.map((m) => show(m).replace(/"/g, "")).join(", ");
};

/** Every route with a name made of its matchers and its parents' (`severity=critical`), the root as `default`. */
function routesOf(doc: unknown): Map<string, Obj> {
  const flat: [string, Obj][] = [];
  const visit = (route: Obj, parent: string | undefined) => {
    const own = matchersOf(route) || "(no matchers)";
    const name = parent === undefined ? "default" : parent === "default" ? own : `${parent} > ${own}`;
    flat.push([name, route]);
    for (const child of Array.isArray(route.routes) ? route.routes.filter(isRecord) : []) visit(child, name);
  };
  if (isRecord(doc) && isRecord(doc.route)) visit(doc.route, undefined);
  return new Map([...keyed(flat, ([name]) => name)].map(([k, [, r]]) => [k, r]));
}

function listOf(doc: unknown, key: string): Obj[] {
  return isRecord(doc) && Array.isArray(doc[key]) ? doc[key].filter(isRecord) : [];
}

const inhibitionName = (r: Obj) =>
  `${matchersOf({ matchers: r.source_matchers, match: r.source_match })} inhibits ${matchersOf({ matchers: r.target_matchers, match: r.target_match })}`;

function byName(kind: string, before: Map<string, Obj>, after: Map<string, Obj>, ignore: readonly string[] = []): Change[] {
  const { removed, added, both } = pairUp(before, after);
  const changes: Change[] = [];
  for (const k of both) {
    const fields = fieldChanges(without(before.get(k), ignore), without(after.get(k), ignore));
    if (fields.length > 0) changes.push({ area: "alertmanager", kind: "changed", subject: `${kind} ${k}`, fields });
  }
  // Added receivers show their integrations, never their settings (URLs, secret files).
  const integrations = (o: Obj | undefined) => Object.keys(o ?? {}).filter((key) => key !== "name" && key !== "routes");
  for (const k of added) {
    const keys = kind === "receiver" ? integrations(after.get(k)) : [];
    changes.push({ area: "alertmanager", kind: "added", subject: `${kind} ${k}`, ...(keys.length > 0 ? { fields: [{ field: "integrations", after: keys.join(", ") }] } : {}) });
  }
  for (const k of removed) changes.push({ area: "alertmanager", kind: "removed", subject: `${kind} ${k}` });
  return changes;
}

function diffAlertmanager(before: ExportFiles, after: ExportFiles): Change[] {
  const path = BUNDLE_PATHS.alertmanagerConfig;
  const [b, a] = [yamlOf(path, before.get(path)), yamlOf(path, after.get(path))];
  const changes: Change[] = [];
  if ((b === undefined) !== (a === undefined)) changes.push({ area: "alertmanager", kind: b === undefined ? "added" : "removed", subject: "Alertmanager", where: path });
  const section = (doc: unknown, key: string): unknown => (isRecord(doc) ? doc[key] : undefined);
  const global = fieldChanges(section(b, "global") ?? {}, section(a, "global") ?? {});
  if (global.length > 0) changes.push({ area: "alertmanager", kind: "changed", subject: "global settings", fields: global });
  changes.push(...byName("route", routesOf(b), routesOf(a), ["routes"]));
  const named = (doc: unknown, key: string) => keyed(listOf(doc, key), (r) => show(r.name));
  changes.push(...byName("receiver", named(b, "receivers"), named(a, "receivers")));
  changes.push(...byName("inhibition", keyed(listOf(b, "inhibit_rules"), inhibitionName), keyed(listOf(a, "inhibit_rules"), inhibitionName)));
  changes.push(...byName("time interval", named(b, "time_intervals"), named(a, "time_intervals")));
  const rest = fieldChanges(without(b, ["global", "route", "receivers", "inhibit_rules", "time_intervals"]), without(a, ["global", "route", "receivers", "inhibit_rules", "time_intervals"]));
  if (rest.length > 0) changes.push({ area: "alertmanager", kind: "changed", subject: "other settings", fields: rest });
  return changes;
}

export const alertmanagerDiffer: Differ = {
  claims: (path) => path === BUNDLE_PATHS.alertmanagerConfig,
  diff: diffAlertmanager,
};
