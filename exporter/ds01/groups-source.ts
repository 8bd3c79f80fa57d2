import { promises as fs } from "node:fs";
import path from "node:path";
import { readRegularFile } from "../core/regular-file";
import type { Source } from "../core/source";

/** Members of each DS01 group, in file order, each listed once. */
export type GroupMembers = ReadonlyMap<string, readonly string[]>;

export interface GroupsSourceOptions {
  /** DS01's group directory, e.g. /opt/ds01-infra/config/runtime/groups. */
  readonly path: string;
  /** Group files read at most. Default 1000. */
  readonly maxGroups?: number;
  /** Larger group files are refused. Default 1 MiB. */
  readonly maxFileBytes?: number;
  /** Source name in ds01_exporter_source_*; default "groups". */
  readonly name?: string;
}

const MEMBERS_SUFFIX = ".members";
/** DS01 keeps former members in this file; they belong to no group. */
const ARCHIVED = "archived";

/** One `<group>.members` file: a member a line, `#` starts a comment, blank lines ignored. */
export function parseMembers(text: string): string[] {
  const members = new Set<string>();
  for (const raw of text.split("\n")) {
    const hash = raw.indexOf("#");
    const line = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    if (line !== "") members.add(line);
  }
  return [...members];
}

/**
 * DS01's group membership from its `*.members` files (`archived.members` skipped). A missing
 * directory or an unreadable file fails the read: a partial list would silently move users out
 * of their groups.
 */
export class GroupsSource implements Source<GroupMembers> {
  readonly name: string;
  private readonly maxGroups: number;
  private readonly maxFileBytes: number;

  constructor(private readonly opts: GroupsSourceOptions) {
    this.name = opts.name ?? "groups";
    this.maxGroups = opts.maxGroups ?? 1000;
    this.maxFileBytes = opts.maxFileBytes ?? 1024 * 1024;
  }

  async read(): Promise<GroupMembers> {
    const entries = await fs.readdir(this.opts.path, { withFileTypes: true });
    const files = entries
      .filter((e) => e.name.length > MEMBERS_SUFFIX.length && e.name.endsWith(MEMBERS_SUFFIX) && e.name !== `${ARCHIVED}${MEMBERS_SUFFIX}` && (e.isFile() || e.isSymbolicLink()))
      .map((e) => e.name)
      .sort();
    if (files.length > this.maxGroups) throw new Error(`groups dir ${this.opts.path} has ${files.length} member files, over the limit of ${this.maxGroups}`);
    const groups = new Map<string, readonly string[]>();
    for (const file of files) {
      const full = path.join(this.opts.path, file);
      const text = (await readRegularFile(full, `group file ${full}`, this.maxFileBytes)).toString("utf8");
      groups.set(file.slice(0, -MEMBERS_SUFFIX.length), parseMembers(text));
    }
    return groups;
  }

  async close(): Promise<void> {}
}

export function createGroupsSource(opts: GroupsSourceOptions): GroupsSource {
  return new GroupsSource(opts);
}
