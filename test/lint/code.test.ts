import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ESLint } from "eslint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..", "..");

const FILES: Record<string, string> = {
  "tsconfig.json": JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "nodenext", noEmit: true, types: [] }, include: ["*.ts"] }),
  "thing.ts": "export interface Thing {\n  n: number;\n}\nexport async function load(): Promise<number> {\n  return 1;\n}\n",
  // One line per rule, in this order.
  "bad.ts": [
    'import { Thing, load } from "./thing";',
    "export function use(t: Thing, x: any): number {",
    "  load();",
    "  [1].forEach(async () => {",
    "    await load();",
    "  });",
    "  const unused = 2;",
    "  return t.n + Number(x);",
    "}",
    "",
  ].join("\n"),
  "good.ts": [
    'import { type Thing, load } from "./thing";',
    "export async function use(t: Thing, x: unknown): Promise<number> {",
    "  await load();",
    "  await Promise.all([1].map(async () => load()));",
    "  // Runs on its own: load() never rejects.",
    "  void load();",
    "  return t.n + Number(x);",
    "}",
    "",
  ].join("\n"),
};

describe("code lint (typescript-eslint, eslint.config.mjs)", () => {
  let dir: string;
  let eslint: ESLint;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "gm-code-lint-"));
    for (const [file, content] of Object.entries(FILES)) await writeFile(path.join(dir, file), content);
    // The project's own config, with types read from the fixture's tsconfig instead of ours.
    eslint = new ESLint({
      cwd: dir,
      overrideConfigFile: path.join(ROOT, "eslint.config.mjs"),
      overrideConfig: { languageOptions: { parserOptions: { tsconfigRootDir: dir } } },
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("npm test runs it before the tests", async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.lint).toContain("lint:code");
    expect(pkg.scripts["lint:code"]).toMatch(/^eslint /);
  });

  it("reports floating and misused promises, unused code, type imports written as values and any", { timeout: 60_000 }, async () => {
    const [bad, good] = await eslint.lintFiles([path.join(dir, "bad.ts"), path.join(dir, "good.ts")]);
    expect(bad!.messages.map((m) => `${m.line} ${m.ruleId ?? m.message}`)).toEqual([
      "1 @typescript-eslint/consistent-type-imports",
      "2 @typescript-eslint/no-explicit-any",
      "3 @typescript-eslint/no-floating-promises",
      "4 @typescript-eslint/no-misused-promises",
      "7 @typescript-eslint/no-unused-vars",
    ]);
    expect(good!.messages.map((m) => `${m.line} ${m.ruleId ?? m.message}`)).toEqual([]);
  });

  it("--fix rewrites the import as the project writes them", { timeout: 60_000 }, async () => {
    const fixer = new ESLint({
      cwd: dir,
      fix: true,
      overrideConfigFile: path.join(ROOT, "eslint.config.mjs"),
      overrideConfig: { languageOptions: { parserOptions: { tsconfigRootDir: dir } } },
    });
    const [fixed] = await fixer.lintFiles([path.join(dir, "bad.ts")]);
    expect(fixed!.output?.split("\n")[0]).toBe('import { type Thing, load } from "./thing";');
  });
});
