import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerfileInstructions, imageBundleArgs } from "../support/dockerfile";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..", "..");
const DOCKERFILE = path.join(ROOT, "exporter", "Dockerfile");

/** The sources of the build stage's COPY lines (the stage before the second FROM), as given. */
function buildStageSources(lines: readonly string[]): string[] {
  const second = lines.findIndex((l, i) => i > 0 && l.startsWith("FROM "));
  return lines
    .slice(0, second)
    .filter((l) => l.startsWith("COPY ") && !l.includes("--from="))
    .flatMap((l) => l.split(/\s+/).slice(1, -1));
}

// The esbuild bundle in test/exporter/deploy.test.ts runs in the whole checkout; this one runs in a
// context holding only what the Dockerfile copies, so an import from outside it fails here.
describe("exporter image build context", () => {
  let lines: string[];
  let dir: string;
  beforeAll(async () => {
    lines = dockerfileInstructions(await readFile(DOCKERFILE, "utf8"));
    dir = await mkdtemp(path.join(tmpdir(), "gm-exporter-context-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("copies the package files, metrics/ and exporter/, and the .dockerignore lets exactly those in", async () => {
    const sources = buildStageSources(lines);
    expect([...sources].sort()).toEqual(["exporter", "metrics", "package-lock.json", "package.json", "tsconfig.json"]);
    const ignore = (await readFile(`${DOCKERFILE}.dockerignore`, "utf8")).split("\n").map((l) => l.trim());
    const admitted = ignore.filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/\*\*$/, ""));
    expect(admitted.sort()).toEqual([...sources].sort());
  });

  it("bundles with the Dockerfile's esbuild command from those files alone, and the bundle runs", { timeout: 120_000 }, async () => {
    for (const source of buildStageSources(lines)) await cp(path.join(ROOT, source), path.join(dir, source), { recursive: true });
    // `npm ci --omit=dev` cannot reach the registry here; the packages come from the checkout
    // (the import rule exporter-image-production-packages-only keeps dev packages out).
    await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    const outfile = path.join(dir, "out", "exporter.js");
    await run(path.join(dir, "node_modules", ".bin", "esbuild"), imageBundleArgs(lines.join("\n"), outfile), { cwd: dir });
    const { stdout } = await run(process.execPath, [outfile, "--help"], { cwd: path.dirname(outfile) });
    expect(stdout).toContain("--simulation");
  });
});
