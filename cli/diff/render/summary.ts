import { AREAS, countChanges, type Change, type DiffReport, type FieldChange } from "../model";

/** The first line of every format: how many changes, where. */
export function summaryLine(report: DiffReport): string {
  const total = countChanges(report);
  const changed = report.stacks.filter((s) => s.changes.length > 0);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (changed.length === 1 && changed[0]) {
    const byArea = AREAS.map((a) => [a, changed[0]?.changes.filter((c) => c.area === a).length ?? 0] as const).filter(([, n]) => n > 0);
    return `${plural(total, "change")} in stack ${changed[0].stack} (${byArea.map(([a, n]) => `${a} ${n}`).join(", ")})`;
  }
  return `${plural(total, "change")} in ${plural(changed.length, "stack")} (${changed.map((s) => `${s.stack} ${s.changes.length}`).join(", ")})`;
}

/** `added alert X`, `renamed alert Y (was X)`, with where it lives. */
export function headline(c: Change, code: (s: string) => string = (s) => s): string {
  const from = c.kind === "renamed" && c.from ? ` (was ${code(c.from)})` : c.kind === "moved" && c.from ? ` (from ${c.from})` : "";
  return `${c.kind} ${code(c.subject)}${from}${c.where ? ` in ${c.where}` : ""}`;
}

/** A value short enough to show inline, both sides of a field. */
export function isShort(f: FieldChange): boolean {
  return [f.before, f.after].every((v) => v === undefined || (v.length <= 80 && !v.includes("\n")));
}
