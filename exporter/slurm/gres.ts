/**
 * Slurm's GRES and host list notations, as sinfo and squeue print them in Slurm 22.05 (and
 * in the formatted output of every release since).
 */

/** Splits on commas that are not inside parentheses: `gpu:a100:2(S:0-1),gpu:v100:1`. */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth = Math.max(0, depth - 1);
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * GPUs in a GRES string: node GRES (`gpu:a100:2`, `gpu:2(S:0-1)`), GRES in use
 * (`gpu:a100:1(IDX:0)`), a job's request (`gres:gpu:1`, `gres/gpu:a100:2`). Other GRES (mps,
 * shard) are not GPUs; `(null)` and `N/A` are none. A `gpu` item without a count is one GPU.
 */
export function countGpus(gres: string): number {
  let total = 0;
  for (const item of splitTopLevel(gres)) {
    const bare = item.replace(/\(.*\)$/, "").replace(/^gres[:/]/, "");
    const parts = bare.split(":");
    if (parts[0] !== "gpu") continue;
    const last = parts.length > 1 ? (parts[parts.length - 1] ?? "") : "";
    total += /^\d+$/.test(last) ? Number(last) : 1;
  }
  return total;
}

/** Bound on one expanded host list, so a malformed range cannot allocate without limit. */
const MAX_HOSTS = 100_000;

/** Expands a Slurm host list: `gpu[01-03,7],login1` -> gpu01, gpu02, gpu03, gpu7, login1. */
export function expandHostlist(list: string): string[] {
  const hosts: string[] = [];
  for (const item of splitTopLevel(list)) {
    const m = /^([^[\]]*)\[([^\]]+)\](.*)$/.exec(item);
    if (!m) {
      hosts.push(item);
      continue;
    }
    const [, prefix = "", ranges = "", suffix = ""] = m;
    for (const range of ranges.split(",")) {
      const [from = "", to = from] = range.split("-");
      if (!/^\d+$/.test(from) || !/^\d+$/.test(to)) continue;
      const width = from.length;
      const tails = suffix === "" ? [""] : expandHostlist(suffix);
      for (let n = Number(from); n <= Number(to) && hosts.length < MAX_HOSTS; n++) {
        for (const tail of tails) hosts.push(`${prefix}${String(n).padStart(width, "0")}${tail}`);
      }
    }
  }
  return hosts;
}

/**
 * Tasks in a pending job array's task string, as squeue lists an array that has not started
 * as one record: `0-9%3` is ten tasks (at most three at a time), `1,4,10-20:5` five. Anything
 * unreadable counts as the one record it is.
 */
export function countArrayTasks(tasks: string): number {
  const spec = tasks.replace(/%\d+$/, "").trim();
  if (spec === "") return 1;
  let total = 0;
  for (const part of spec.split(",")) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) return 1;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = Math.max(1, Number(m[3] ?? 1));
    if (to < from) return 1;
    total += Math.floor((to - from) / step) + 1;
  }
  return Math.min(total, MAX_HOSTS);
}
