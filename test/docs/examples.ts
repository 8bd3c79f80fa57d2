import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";

/** One `gpu-monitoring` command line shown to users, and where. */
export interface Example {
  readonly where: string;
  readonly command: string;
  /** The marker's reason, when the example says it cannot run here. */
  readonly needs?: { readonly what: string; readonly why: string };
}

/**
 * What an example may need that a test machine does not have. An example marked with
 * `# needs <what>: <reason>` is not run; every other one is.
 */
export const NEEDS = ["Pulumi", "Docker", "a cluster", "a GPU host", "a git clone", "two exports", "a hand edit", "to run until stopped"] as const;

const MARKER = /\s#\s*needs (.+?): (.+)$/;
const INVOKES = /(^|[|&;(]\s*|^(?:[A-Z_]+=\S+\s+)+)(npx (--no-install )?)?gpu-monitoring\s/;

function parse(where: string, line: string): Example {
  const m = MARKER.exec(line);
  const command = (m ? line.slice(0, m.index) : line.replace(/\s+#\s[^'"]*$/, "")).trim();
  return m?.[1] && m[2] ? { where, command, needs: { what: m[1], why: m[2].trim() } } : { where, command };
}

/** Command lines in the fenced shell blocks of a Markdown file; backslash continuations joined. */
export function markdownExamples(file: string, text: string): Example[] {
  const out: Example[] = [];
  let inFence = false;
  let inShell = false;
  let pending = "";
  let startLine = 0;
  text.split("\n").forEach((raw, i) => {
    const fence = /^\s*```(\w*)/.exec(raw);
    if (fence) {
      inFence = !inFence;
      inShell = inFence && ["sh", "bash", "shell", "console", ""].includes(fence[1] ?? "");
      return;
    }
    if (!inShell) return;
    const line = raw.replace(/^\s*\$ /, "");
    if (pending === "") startLine = i + 1;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const whole = pending + line;
    pending = "";
    if (INVOKES.test(whole.trim())) out.push(parse(`${file}:${startLine}`, whole));
  });
  return out;
}

/** Every README.md and docs/*.md example. */
export function documentedExamples(root: string): Example[] {
  const files = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
  return files.flatMap((f) => markdownExamples(f, readFileSync(join(root, f), "utf8")));
}

/** Every command's path below the program, for its `--help`. */
export function commandPaths(cmd: Command, prefix: readonly string[] = []): string[][] {
  return cmd.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [path, ...commandPaths(sub, path)];
  });
}

/** The example lines of a `--help` text: indented lines after "Examples:" that run gpu-monitoring. */
export function helpExamples(where: string, help: string): Example[] {
  const after = help.split(/^Examples:\s*$/m)[1];
  if (after === undefined) return [];
  return after
    .split("\n")
    .filter((l) => /^\s+\S/.test(l) && INVOKES.test(l.trim()))
    .map((l) => parse(where, l));
}
