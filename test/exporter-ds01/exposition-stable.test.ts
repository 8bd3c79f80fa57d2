import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fixtureExposition } from "./support/exposition-fixture";

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

describe("exposition of a fixed DS01 host", () => {
  it("is byte for byte the page the exporter wrote before its series were kept as text (exposition-fixture.prom)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "ds01-exposition-"));
    dirs.push(dir);
    const { served, registry } = await fixtureExposition(path.join(dir, "host"));
    // exposition-fixture.prom was written by the exporter before the change, from these inputs.
    const before = await readFile(path.join(__dirname, "support", "exposition-fixture.prom"), "utf8");
    expect(served).toBe(before);
    expect(registry).toBe(before);
  });
});
