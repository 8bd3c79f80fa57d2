import { AREAS, type Change, type DiffReport, type FieldChange } from "../model";
import { headline, isShort, summaryLine } from "./summary";

/** Plain text for a terminal: the summary line, then stack, area, change, fields, indented. */

function fieldLines(f: FieldChange): string[] {
  if (f.note) return [`      ${f.field}: ${f.note}`];
  if (f.hidden) return [`      ${f.field}: changed (value not shown)`];
  if (isShort(f)) return [`      ${f.field}: ${f.before ?? "(unset)"} -> ${f.after ?? "(unset)"}`];
  const lines = (prefix: string, v: string | undefined) => (v === undefined ? [] : v.split("\n").map((l) => `        ${prefix} ${l}`));
  return [`      ${f.field}:`, ...lines("-", f.before), ...lines("+", f.after)];
}

function changeLines(c: Change): string[] {
  const patch = c.patch ? c.patch.replace(/\n$/, "").split("\n").map((l) => `      ${l}`) : [];
  return [`    ${headline(c)}`, ...(c.fields ?? []).flatMap(fieldLines), ...patch];
}

export function renderText(report: DiffReport): string {
  const lines = [summaryLine(report), ...report.notes.map((n) => `note: ${n}`)];
  for (const s of report.stacks.filter((x) => x.changes.length > 0)) {
    lines.push(`stack ${s.stack}`);
    for (const area of AREAS) {
      const mine = s.changes.filter((c) => c.area === area);
      if (mine.length > 0) lines.push(`  ${area}`, ...mine.flatMap(changeLines));
    }
  }
  return `${lines.join("\n")}\n`;
}
