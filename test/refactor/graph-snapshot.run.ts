import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readStackFile } from "../../components/config";
import { REPO_ROOT, runProgram, testSecret } from "../support/pulumi-program";

/**
 * The resource graph every stack in stacks/ declares under Pulumi mocks, written as canonical JSON
 * (keys sorted, resources in URN order) so two revisions can be compared byte for byte. Runs only
 * by `test/refactor/compare.sh` (its own vitest config), into the folder GRAPH_SNAPSHOT_DIR names;
 * `npm test` does not run it.
 */
const OUT = process.env["GRAPH_SNAPSHOT_DIR"];
if (!OUT) throw new Error("GRAPH_SNAPSHOT_DIR must name the folder the graphs are written to (test/refactor/compare.sh sets it)");
const STACKS = fs.readdirSync(path.join(REPO_ROOT, "stacks")).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);
const PLATFORM_MODULES: Readonly<Record<string, string>> = {
  kubernetes: path.join(REPO_ROOT, "components", "platforms", "kubernetes", "index.ts"),
};

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

describe("resource graph snapshot", () => {
  it.each(STACKS)("%s", async (stack) => {
    const raw = readStackFile(path.join(REPO_ROOT, "stacks", `Pulumi.${stack}.yaml`));
    const platformModule = PLATFORM_MODULES[String(raw.plain["platform"] ?? "docker")];
    const run = await runProgram({
      stack,
      plain: raw.plain,
      secrets: Object.fromEntries(raw.secretKeys.map((k) => [k, testSecret(k)])),
      ...(platformModule ? { preload: [platformModule] } : {}),
    });
    expect(run.error).toBeUndefined();
    const resources = [...run.resources].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    const graph = canonical({ outputs: run.outputs, resources });
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, `${stack}.graph.json`), `${JSON.stringify(graph, null, 1)}\n`);
    expect(resources.length).toBeGreaterThan(0);
  });
});
