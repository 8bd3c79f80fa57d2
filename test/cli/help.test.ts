import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/main";
import { runCli } from "./harness";

const ROOT = resolve(__dirname, "..", "..");
const BIN = join(ROOT, "bin", "gpu-monitoring.cjs");

/** Every command path below the program, e.g. ["grafana", "upload"]. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((sub) => [[...prefix, sub.name()], ...commandPaths(sub, [...prefix, sub.name()])]);
}

interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function runBin(args: readonly string[], command = process.execPath, prefix: readonly string[] = [BIN]): Promise<ProcessResult> {
  return new Promise((resolvePromise) => {
    execFile(command, [...prefix, ...args], { cwd: ROOT, timeout: 60_000, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" } }, (err, stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : err ? 1 : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

const paths = commandPaths(buildProgram());

describe("gpu-monitoring --help", () => {
  it("has every command of the design", () => {
    expect(paths.map((p) => p.join(" "))).toEqual(
      expect.arrayContaining(["demo", "export", "diff", "grafana", "grafana upload", "query", "report", "status", "stacks", "exporter"]),
    );
  });

  it("`<command> --help` works for every command through bin/gpu-monitoring.cjs", async () => {
    // One process per command, started together: each pays tsx's start-up once.
    const results = await Promise.all(paths.map(async (path) => ({ path, r: await runBin([...path, "--help"]) })));
    for (const { path, r } of results) {
      expect(r.stderr, path.join(" ")).toBe("");
      expect(r.code, path.join(" ")).toBe(0);
      expect(r.stdout).toContain(`Usage: gpu-monitoring ${path.join(" ")}`);
      expect(r.stdout).toMatch(/Options:|Commands:/);
    }
  }, 120_000);

  it("works through npx, as users run it", async () => {
    const r = await runBin(["gpu-monitoring", "status", "--help"], "npx", ["--no-install"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: gpu-monitoring status");
  });

  it("ends with exit code 2 and a next step on wrong usage, as a real process", async () => {
    const r = await runBin(["status", "--quiet"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: no component URLs given");
    expect(r.stderr).toContain("next: ");
    const unknown = await runBin(["querry", "up"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'querry'");
    // diff keeps 1 for "there are changes", so its errors end with 2.
    const diff = await runBin(["diff", "/nonexistent/before", "/nonexistent/after"]);
    expect(diff.code).toBe(2);
    expect(diff.stderr).toContain("before directory /nonexistent/before does not exist");
  });

  it("prints its version and lists the exit codes on the top-level help", async () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string };
    const v = await runCli(["--version"]);
    expect(v).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
    const help = await runCli(["--help"]);
    expect(help.stdout).toContain("Exit codes (every command): 0 done; 1 failed");
    expect(help.stdout).toContain("2 wrong usage");
    // The same convention in each command: a bad flag value is exit 2 everywhere.
    for (const args of [["query", "up", "--output", "xml"], ["export", "--out", "/nonexistent-dir-x", "--stack", "dev", "--addressing", "dns"], ["exporter", "--metrics-port", "x"], ["status", "--output", "xml"]]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
    }
  });

  it("lists the commands on the top-level help", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const name of ["demo", "export", "diff", "grafana", "query", "report", "status", "stacks"]) expect(r.stdout).toMatch(new RegExp(`^  ${name}\\b`, "m"));
  });
});
