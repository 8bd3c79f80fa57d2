import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { RECORDING_RULE_FILE } from "../../alerts/render";

export interface ToolResult {
  readonly code: number;
  readonly output: string;
}

/** Runs promtool/amtool with a time limit; the exit code and combined output come back, never a throw. */
export function runTool(cmd: string, args: readonly string[], cwd?: string): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { cwd, timeout: 120_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** A temp directory holding the given files, removed by the returned cleanup. */
export async function withFiles<T>(files: readonly { name: string; content: string }[], fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "gpu-monitoring-alerts-"));
  try {
    for (const f of files) await writeFile(join(dir, f.name), f.content);
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One promtool unit test (`promql_expr_test` and the like) run against the rendered recording rules. */
export function testRecordingRules(recordingYaml: string, test: object): Promise<ToolResult> {
  return withFiles(
    [
      { name: RECORDING_RULE_FILE, content: recordingYaml },
      { name: "tests.yml", content: stringify({ rule_files: [RECORDING_RULE_FILE], evaluation_interval: "30s", tests: [test] }) },
    ],
    (dir) => runTool("promtool", ["test", "rules", "tests.yml"], dir),
  );
}

/** A 127.0.0.1 port the kernel just handed out (listen on port 0), free a moment ago. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port"))));
    });
  });
}
