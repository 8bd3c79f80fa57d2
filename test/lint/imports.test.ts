import { execFile } from "node:child_process";
import { access, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..", "..");
const CONFIG = ".dependency-cruiser.cjs";
const KNOWN = ".dependency-cruiser-known-violations.json";

/**
 * A small tree laid out like ours: each file marked "allowed" follows the import rules, each one
 * named bad* (and the a/b cycle, and the missing import) breaks exactly one. Packages are stand-ins
 * with the real names, so production/dev and @pulumi are told apart as in package.json.
 */
const FIXTURE: Record<string, string> = {
  "package.json": JSON.stringify({ name: "fixture", dependencies: { "prom-client": "*", "@pulumi/pulumi": "*", zod: "*" }, devDependencies: { vitest: "*" } }),
  "tsconfig.json": JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", strict: true } }),
  "node_modules/prom-client/package.json": JSON.stringify({ name: "prom-client", main: "index.js" }),
  "node_modules/prom-client/index.js": "exports.register = {};\n",
  "node_modules/@pulumi/pulumi/package.json": JSON.stringify({ name: "@pulumi/pulumi", main: "index.js" }),
  "node_modules/@pulumi/pulumi/index.js": "exports.log = {};\n",
  "node_modules/zod/package.json": JSON.stringify({ name: "zod", main: "index.js" }),
  "node_modules/zod/index.js": "exports.z = {};\n",
  "node_modules/zod/mini/index.js": "exports.object = () => ({});\n",
  // allowed: zod/mini through the exporter's own wrapper; not full zod, nor zod/mini past it
  "exporter/core/zod.ts": 'export * from "zod/mini";\n',
  "exporter/uses-wrapper.ts": 'import * as z from "./core/zod";\nexport const x = z;\n',
  "exporter/bad-zod.ts": 'import { z } from "zod";\nexport const x = z;\n',
  "node_modules/vitest/package.json": JSON.stringify({ name: "vitest", main: "index.js" }),
  "node_modules/vitest/index.js": "exports.describe = () => {};\n",

  "metrics/catalog.ts": "export const catalog = 1;\n",
  "metrics/bad.ts": 'import { helper } from "../cli/helper";\nexport const x = helper;\n',
  // allowed: metrics and the own folder
  "alerts/own.ts": "export const own = 1;\n",
  "alerts/rules.ts": 'import { catalog } from "../metrics/catalog";\nimport { own } from "./own";\nexport const rules = catalog + own;\n',
  "alerts/bad.ts": 'import { component } from "../components/component";\nexport const x = component;\n',
  "dashboards/panel.ts": 'import { catalog } from "../metrics/catalog";\nexport const panel = catalog;\n',
  // dashboards may not import alerts: the own-folder allowance is per folder
  "dashboards/bad.ts": 'import { rules } from "../alerts/rules";\nexport const x = rules;\n',
  // allowed: alerts, dashboards, metrics, and the exporter's source rule
  "components/component.ts":
    'import { rules } from "../alerts/rules";\nimport { panel } from "../dashboards/panel";\nimport { sourceProblems } from "../exporter/source-rules";\nexport const component = rules + panel + sourceProblems;\n',
  "components/bad.ts": 'import { helper } from "../cli/helper";\nexport const x = helper;\n',
  "components/bad-exporter.ts": 'import { serve } from "../exporter/serve";\nexport const x = serve;\n',
  "exporter/source-rules.ts": "export const sourceProblems = 1;\n",
  // allowed: metrics, the own folder, a production package
  "exporter/serve.ts": 'import { register } from "prom-client";\nimport { catalog } from "../metrics/catalog";\nimport { sourceProblems } from "./source-rules";\nexport const serve = [register, catalog, sourceProblems];\n',
  "exporter/bad.ts": 'import { helper } from "../cli/helper";\nexport const x = helper;\n',
  "exporter/bad-dev.ts": 'import { describe } from "vitest";\nexport const x = describe;\n',
  "exporter/bad-pulumi.ts": 'import { log } from "@pulumi/pulumi";\nexport const x = log;\n',
  // allowed: cli imports anything
  "cli/helper.ts": 'import { component } from "../components/component";\nimport { serve } from "../exporter/serve";\nexport const helper = [component, serve];\n',
  "cli/a.ts": 'import { b } from "./b";\nexport const a = () => b;\n',
  "cli/b.ts": 'import { a } from "./a";\nexport const b = () => a;\n',
  // allowed: a cycle closed by a type-only import is erased at compile time
  "cli/typed-a.ts": 'import { typedB } from "./typed-b";\nexport interface A { n: number }\nexport const typedA = typedB;\n',
  "cli/typed-b.ts": 'import type { A } from "./typed-a";\nexport const typedB = (a: A) => a.n;\n',
  "cli/missing.ts": 'import { gone } from "./nowhere";\nexport const x = gone;\n',
  // allowed: tests and benchmarks import anything
  "test/all.test.ts": 'import "../metrics/bad";\nimport "../exporter/bad";\nimport "../cli/helper";\nimport "vitest";\n',
  "bench/run.ts": 'import "../components/bad";\nimport "@pulumi/pulumi";\n',
};

const EXPECTED = [
  "metrics-imports-nothing-of-ours metrics/bad.ts -> cli/helper.ts",
  "alerts-and-dashboards-import-metrics-only alerts/bad.ts -> components/component.ts",
  "alerts-and-dashboards-import-metrics-only dashboards/bad.ts -> alerts/rules.ts",
  "components-import-below-only components/bad.ts -> cli/helper.ts",
  "components-import-below-only components/bad-exporter.ts -> exporter/serve.ts",
  "exporter-imports-metrics-only exporter/bad.ts -> cli/helper.ts",
  "exporter-image-production-packages-only exporter/bad-dev.ts -> vitest",
  "exporter-image-no-pulumi exporter/bad-pulumi.ts -> @pulumi/pulumi",
  "exporter-zod-mini-only exporter/bad-zod.ts -> zod",
  "no-circular cli/a.ts <-> cli/b.ts",
  "not-to-unresolvable cli/missing.ts -> ./nowhere",
].sort();

interface Violation {
  readonly rule: { readonly name: string };
  readonly from: string;
  readonly to: string;
}

/** One line per violation; a cycle is reported once, from whichever of its modules comes first. */
function describeViolation(v: Violation): string {
  if (v.rule.name === "no-circular") return `${v.rule.name} ${[v.from, v.to].sort().join(" <-> ")}`;
  return `${v.rule.name} ${v.from} -> ${packageOf(v.to)}`;
}

/** The package a resolved node_modules path belongs to, or the path itself. */
function packageOf(to: string): string {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(to);
  return m ? m[1]! : to;
}

/** Runs a command in dir; resolves with its exit code and output whether it fails or not. */
async function runIn(dir: string, file: string, args: string[]): Promise<{ code: number; out: string }> {
  const env = { ...process.env, PATH: `${path.join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}`, NO_COLOR: "1" };
  try {
    const { stdout, stderr } = await run(file, args, { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, out: stdout + stderr };
  } catch (err: unknown) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, out: (e.stdout ?? "") + (e.stderr ?? "") };
  }
}

describe("import rules (dependency-cruiser)", () => {
  let dir: string;
  let script: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "gm-import-rules-"));
    for (const [file, content] of Object.entries(FIXTURE)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), content);
    }
    await copyFile(path.join(ROOT, CONFIG), path.join(dir, CONFIG));
    const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    script = pkg.scripts["lint:imports"]!;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("npm test runs the import check before the tests", async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toMatch(/npm run --silent lint && vitest run$/);
    expect(pkg.scripts.lint).toContain("lint:imports");
    expect(script).toContain(`--config ${CONFIG}`);
  });

  it("flags every broken rule, and only those, naming the rule and both files", { timeout: 60_000 }, async () => {
    const { out } = await runIn(dir, path.join(ROOT, "node_modules", ".bin", "depcruise"), ["--config", CONFIG, "--output-type", "json", "."]);
    const violations = (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations;
    expect(violations.map(describeViolation).sort()).toEqual(EXPECTED);
  });

  it("the package.json script fails with a readable message: rule, files and what to do", { timeout: 60_000 }, async () => {
    const { code, out } = await runIn(dir, "sh", ["-c", script]);
    expect(code).not.toBe(0);
    expect(out).toContain("error exporter-imports-metrics-only: exporter/bad.ts → cli/helper.ts");
    expect(out).toContain("The exporter image is built from exporter/ and metrics/ alone");
    expect(out).toContain(`x ${EXPECTED.length} dependency violations (${EXPECTED.length} errors, 0 warnings)`);
  });

  it("lets no violation through: no baseline of known violations is read or kept", async () => {
    expect(script).not.toContain("--ignore-known");
    await expect(access(path.join(ROOT, KNOWN))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
