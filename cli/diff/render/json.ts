import { countChanges, type DiffReport } from "../model";
import { summaryLine } from "./summary";

/** JSON for scripts: the summary, the count, notes and every change in the common model. Never cut. */
export function renderJson(report: DiffReport): string {
  return `${JSON.stringify({ summary: summaryLine(report), changes: countChanges(report), notes: report.notes, stacks: report.stacks.filter((s) => s.changes.length > 0) }, null, 2)}\n`;
}
