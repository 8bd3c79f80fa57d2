import { DOCKER_SERVICES_FILE } from "../../deploymentRecord";
import { fieldChanges, isRecord, pairUp, show } from "../fields";
import type { Change, Differ, ExportFiles } from "../model";
import { yamlOf } from "../parse";
import { withoutRetention } from "./platform";

/** Docker services (docker/services.yml) by container name: image, args by flag, resources, mounts. */

function servicesOf(files: ExportFiles): Map<string, unknown> {
  const doc = yamlOf(DOCKER_SERVICES_FILE, files.get(DOCKER_SERVICES_FILE));
  return new Map(isRecord(doc) && isRecord(doc.services) ? Object.entries(doc.services) : []);
}

function diffServices(before: ExportFiles, after: ExportFiles): Change[] {
  const [b, a] = [servicesOf(before), servicesOf(after)];
  const { removed, added, both } = pairUp(b, a);
  const changes: Change[] = [];
  for (const name of both) {
    const fields = withoutRetention(fieldChanges(b.get(name), a.get(name)));
    if (fields.length > 0) changes.push({ area: "services", kind: "changed", subject: `container ${name}`, fields });
  }
  const image = (s: unknown) => (isRecord(s) ? show(s.image) : "");
  for (const name of added) changes.push({ area: "services", kind: "added", subject: `container ${name}`, fields: [{ field: "image", after: image(a.get(name)) }] });
  for (const name of removed) changes.push({ area: "services", kind: "removed", subject: `container ${name}` });
  return changes;
}

export const servicesDiffer: Differ = {
  claims: (path) => path === DOCKER_SERVICES_FILE,
  diff: diffServices,
};
