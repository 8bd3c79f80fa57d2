import { AREAS, type Change, type DiffReport, type FieldChange } from "../model";
import { headline, isShort, summaryLine } from "./summary";

/**
 * Markdown for a pull-request comment: the summary line first, then each stack's changes by area.
 * Cut to `maxBytes` at a change boundary, with a marker saying how many changes are left out.
 */

const AREA_TITLES: Readonly<Record<(typeof AREAS)[number], string>> = {
  alerts: "Alerts",
  "recording rules": "Recording rules",
  dashboards: "Dashboards",
  prometheus: "Prometheus",
  alertmanager: "Alertmanager",
  kubernetes: "Kubernetes objects",
  services: "Docker services",
  files: "Other files",
};

/** Lines of a file's patch shown in a comment; the rest is counted. */
const MAX_PATCH_LINES = 120;

/** Inline code that survives backticks in the value. */
function code(s: string): string {
  const longest = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return longest > 0 ? `${fence} ${s} ${fence}` : `${fence}${s}${fence}`;
}

function fenced(lang: string, body: string, indent: string): string {
  const longest = Math.max(2, ...[...body.matchAll(/`{3,}/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return [`${indent}${fence}${lang}`, ...body.split("\n").map((l) => `${indent}${l}`), `${indent}${fence}`].join("\n");
}

function fieldLine(f: FieldChange, added: boolean): string {
  if (f.note) return `  - ${f.field}: ${f.note}`;
  if (f.hidden) return `  - ${f.field}: changed (value not shown)`;
  if (isShort(f)) {
    if (f.before === undefined) return `  - ${f.field}: ${added ? "" : "(unset) → "}${code(f.after ?? "")}`;
    if (f.after === undefined) return `  - ${f.field}: ${code(f.before)} → (unset)`;
    return `  - ${f.field}: ${code(f.before)} → ${code(f.after)}`;
  }
  const lines = (prefix: string, v: string | undefined) => (v === undefined ? [] : v.split("\n").map((l) => `${prefix} ${l}`));
  return `  - ${f.field}:\n${fenced("diff", [...lines("-", f.before), ...lines("+", f.after)].join("\n"), "    ")}`;
}

function patchBlock(patch: string): string {
  const lines = patch.replace(/\n$/, "").split("\n");
  const shown = lines.slice(0, MAX_PATCH_LINES);
  const more = lines.length - shown.length;
  return `${fenced("diff", shown.join("\n"), "  ")}${more > 0 ? `\n  (${more} more lines of this diff not shown)` : ""}`;
}

function changeBlock(c: Change): string {
  const head = `- **${c.kind}** ${headline(c, code).slice(c.kind.length + 1)}`;
  const body = [...(c.fields ?? []).map((f) => fieldLine(f, c.kind === "added")), ...(c.patch ? [patchBlock(c.patch)] : [])];
  return [head, ...body].join("\n");
}

/** Every block of the comment in order: heading blocks and one block per change. */
function blocks(report: DiffReport): { text: string; change: boolean }[] {
  const out: { text: string; change: boolean }[] = [];
  for (const s of report.stacks.filter((x) => x.changes.length > 0)) {
    out.push({ text: `\n### Stack \`${s.stack}\`: ${s.changes.length} change${s.changes.length === 1 ? "" : "s"}`, change: false });
    for (const area of AREAS) {
      const mine = s.changes.filter((c) => c.area === area);
      if (mine.length === 0) continue;
      out.push({ text: `\n**${AREA_TITLES[area]}**\n`, change: false });
      for (const c of mine) out.push({ text: changeBlock(c), change: true });
    }
  }
  return out;
}

export function renderMarkdown(report: DiffReport, maxBytes: number): string {
  const head = [`**gpu-monitoring diff**: ${summaryLine(report)}`, ...report.notes.map((n) => `\n> ${n}`)].join("\n");
  const all = blocks(report);
  const total = all.filter((b) => b.change).length;
  const bytes = (s: string) => Buffer.byteLength(s, "utf8");
  const marker = (left: number) => `\n\n> **Truncated**: ${left} of ${total} changes not shown (this comment is limited to ${maxBytes} bytes). Run \`gpu-monitoring diff\` locally for all of them.\n`;
  let out = head;
  let shown = 0;
  for (const [i, b] of all.entries()) {
    const next = `${out}\n${b.text}`;
    // Keep room for the marker unless this is the last block.
    const reserve = i === all.length - 1 ? 0 : bytes(marker(total));
    if (bytes(next) + 1 + reserve > maxBytes) return `${out}${marker(total - shown)}`;
    out = next;
    if (b.change) shown++;
  }
  return `${out}\n`;
}
