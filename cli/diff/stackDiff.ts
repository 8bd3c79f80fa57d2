import { GUIDE_FILE } from "../commands/export";
import { MANIFEST_FILE } from "../exportManifest";
import { alertmanagerDiffer } from "./differs/alertmanager";
import { dashboardsDiffer } from "./differs/dashboards";
import { kubernetesDiffer } from "./differs/kubernetes";
import { prometheusDiffer } from "./differs/prometheus";
import { rulesDiffer } from "./differs/rules";
import { servicesDiffer } from "./differs/services";
import { textChanges } from "./differs/text";
import { AREAS, type Change, type Differ, type ExportFiles } from "./model";

/** One differ per artefact kind; anything they do not claim is compared as text. */
export const DIFFERS: readonly Differ[] = [rulesDiffer, dashboardsDiffer, prometheusDiffer, alertmanagerDiffer, kubernetesDiffer, servicesDiffer];

/** The guide and export's manifest of hashes are written from the files above; their changes are theirs, said once. */
const DERIVED = new Set([GUIDE_FILE, MANIFEST_FILE]);

/** Every change between two exports of one stack, grouped by area in AREAS order. */
export function diffStack(before: ExportFiles, after: ExportFiles): Change[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: Change[] = [];
  for (const differ of DIFFERS) {
    if (paths.some((p) => differ.claims(p))) changes.push(...differ.diff(before, after));
  }
  const unclaimed = paths.filter((p) => !DERIVED.has(p) && !DIFFERS.some((d) => d.claims(p)));
  changes.push(...textChanges(unclaimed, before, after));
  return changes.map((c, i) => [c, i] as const).sort(([a, i], [b, j]) => AREAS.indexOf(a.area) - AREAS.indexOf(b.area) || i - j).map(([c]) => c);
}
