import { createTwoFilesPatch } from "diff";
import type { Change, ExportFiles } from "../model";

/** Any file no semantic differ understands: added, removed, or its unified diff. */
export function textChanges(paths: readonly string[], before: ExportFiles, after: ExportFiles): Change[] {
  const changes: Change[] = [];
  for (const path of paths) {
    const [b, a] = [before.get(path), after.get(path)];
    if (b === a) continue;
    if (b === undefined) changes.push({ area: "files", kind: "added", subject: path });
    else if (a === undefined) changes.push({ area: "files", kind: "removed", subject: path });
    else {
      const patch = createTwoFilesPatch(`a/${path}`, `b/${path}`, b, a, undefined, undefined, { context: 3 });
      // jsdiff puts a line of "=" above the file headers; git's format, which reviewers know, has none.
      changes.push({ area: "files", kind: "changed", subject: path, patch: patch.replace(/^=+\n/m, "") });
    }
  }
  return changes;
}
