/**
 * The common change model every differ produces and every renderer reads: what changed, in which
 * artefact, named the way a reviewer names it (alert X, panel "Power" of dashboard nvidia-dcgm).
 */

/** Which part of the stack a change belongs to; renderers group by it, in this order. */
export const AREAS = ["alerts", "recording rules", "dashboards", "prometheus", "alertmanager", "kubernetes", "services", "files"] as const;
export type Area = (typeof AREAS)[number];

export type ChangeKind = "added" | "removed" | "changed" | "renamed" | "moved";

/** One field of a changed thing. A hidden field says that it changed, never its values (secrets). */
export interface FieldChange {
  readonly field: string;
  /** Absent: the field was not set on that side. */
  readonly before?: string;
  readonly after?: string;
  readonly hidden?: boolean;
  /** Said instead of the values, e.g. where a file's own changes are listed. */
  readonly note?: string;
}

export interface Change {
  readonly area: Area;
  readonly kind: ChangeKind;
  /** What changed, as a reviewer names it: `alert GPUHighTemperature`, `job ds01-exporter`. */
  readonly subject: string;
  /** Where it lives: `group ds01-gpu`, `dashboard nvidia-dcgm`, a file path. */
  readonly where?: string;
  /** For a rename: the old name. */
  readonly from?: string;
  readonly fields?: readonly FieldChange[];
  /** For a file with no semantic differ: the unified diff. */
  readonly patch?: string;
}

export interface StackDiff {
  readonly stack: string;
  readonly changes: readonly Change[];
}

export interface DiffReport {
  readonly stacks: readonly StackDiff[];
  /** Things the reader should know about how the diff was made (e.g. a different lockfile). */
  readonly notes: readonly string[];
}

/** A stack's export: file path (relative, `/`-separated) → content. */
export type ExportFiles = ReadonlyMap<string, string>;

/**
 * A differ for one kind of artefact: it claims the files it understands and returns the changes
 * between the two sides. Files no differ claims are compared as text.
 */
export interface Differ {
  readonly claims: (path: string) => boolean;
  readonly diff: (before: ExportFiles, after: ExportFiles) => Change[];
}

export const countChanges = (report: DiffReport): number => report.stacks.reduce((n, s) => n + s.changes.length, 0);

/** Files of one side that a differ claims. */
export function claimed(files: ExportFiles, differ: Pick<Differ, "claims">): [string, string][] {
  return [...files].filter(([path]) => differ.claims(path)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
