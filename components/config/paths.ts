import { posix } from "node:path";
import { z } from "zod";

/** Host directories no key of this stack is meant to mount or write, nor anything below them. */
export const SYSTEM_DIRS = ["/etc", "/proc", "/sys", "/root", "/boot", "/dev"] as const;

const CONTROL = /[\u0000-\u001f\u007f]/;
export const MAX_PATH_LENGTH = 1024;

/** Why `p` is not a clean path (segments `.`/`..`, doubled or trailing slashes, control characters), or undefined. */
function unclean(p: string): string | undefined {
  if (p.length > MAX_PATH_LENGTH) return `longer than ${MAX_PATH_LENGTH} characters`;
  if (CONTROL.test(p)) return "holds control characters (a newline, a tab, NUL)";
  if (p.split("/").some((seg) => seg === "..")) return "has a .. segment";
  if (posix.normalize(p) !== p || (p.length > 1 && p.endsWith("/"))) return `is not in normal form (${posix.normalize(p).replace(/(.)\/$/, "$1")})`;
  return undefined;
}

function systemDir(p: string): string | undefined {
  return SYSTEM_DIRS.find((d) => p === d || p.startsWith(`${d}/`));
}

/**
 * An absolute host path, normalised and kept away from the host's system directories. `mounts`
 * says what of it reaches a container: the path itself, or its parent folder (a file whose folder
 * is mounted read-only, as the DS01 state file and events log are); neither may be `/` or a
 * system directory. `allow` lists system directories a key is meant for.
 */
export function hostPath(opts: { mounts: "itself" | "folder"; allow?: readonly string[] } = { mounts: "itself" }) {
  return z.string().superRefine((p, ctx) => {
    const fail = (message: string): void => void ctx.addIssue({ code: "custom", message });
    if (!p.startsWith("/")) return fail("not an absolute path|a path starting with /");
    const why = unclean(p);
    if (why) return fail(`the path ${why}|a normalised absolute path, without .. or //`);
    const exposed = opts.mounts === "folder" ? posix.dirname(p) : p;
    if (exposed === "/") return fail(`${opts.mounts === "folder" ? "the path's folder is /, which would be mounted" : "the path is /"}|a file or folder below / that holds only what the key is for`);
    const sys = systemDir(exposed);
    if (sys && !(opts.allow ?? []).some((a) => exposed === a || exposed.startsWith(`${a}/`))) {
      return fail(`the path ${opts.mounts === "folder" ? "lies in a folder that would be mounted from" : "lies in"} the host's ${sys}|a path outside ${SYSTEM_DIRS.join(", ")}`);
    }
  });
}

/** A directory this program writes into: relative or absolute, without .. segments, never a system directory. */
export const outputDir = z.string().superRefine((p, ctx) => {
  const fail = (message: string): void => void ctx.addIssue({ code: "custom", message });
  if (p.length === 0) return fail("empty|a directory path");
  const why = unclean(p.replace(/^\.\//, ""));
  if (why) return fail(`the path ${why}|a path without .. segments, such as rendered/k8s`);
  if (p === "/" || systemDir(p)) return fail(`the path is a system directory|a directory outside / ${SYSTEM_DIRS.join(", ")}`);
});
