import { createHash } from "node:crypto";
import type { GroupMembers } from "./groups-source";

const MAX_SLICE_USER = 32;
const KEPT_PREFIX = 27;

/**
 * A user name as DS01 writes it into systemd slice names (`ds01-<group>-<user>.slice`):
 * everything from `@` dropped, `.` and every character outside [a-zA-Z0-9_:] turned into `_`,
 * runs of `_` collapsed and trimmed; a result over 32 characters becomes its first 27 (trailing
 * `_` trimmed) + `_` + the first 4 hex digits of the MD5 of the original name.
 */
export function sanitizeSliceUser(name: string): string {
  const at = name.indexOf("@");
  const local = at === -1 ? name : name.slice(0, at);
  const cleaned = local
    .replace(/[^a-zA-Z0-9_:]/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (cleaned.length <= MAX_SLICE_USER) return cleaned;
  const hash = createHash("md5").update(name).digest("hex").slice(0, 4);
  return `${cleaned.slice(0, KEPT_PREFIX).replace(/_+$/, "")}_${hash}`;
}

/** Sanitized slice name → the original user name, for every member of a group file. */
export function sliceUserNames(groups: GroupMembers | undefined): ReadonlyMap<string, string> {
  const names = new Map<string, string>();
  for (const members of groups?.values() ?? []) {
    for (const user of members) names.set(sanitizeSliceUser(user), user);
  }
  return names;
}
