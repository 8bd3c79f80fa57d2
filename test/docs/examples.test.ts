import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/main";
import { runCli, sendJson, startServer, type LoopbackServer } from "../cli/harness";
import { startPrometheus, type PrometheusFixture } from "../cli/prometheus-fixture";
import { commandPaths, documentedExamples, helpExamples, NEEDS, type Example } from "./examples";

const ROOT = resolve(__dirname, "..", "..");
const BIN = join(ROOT, "bin", "gpu-monitoring.cjs");
const TOKEN = "glsa_docs_examples_0123456789";

let tmp: string;
let shims: string;
let prometheus: PrometheusFixture;
let grafana: LoopbackServer;
let examples: Example[];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gm-docs-examples-"));
  // `gpu-monitoring` and `npx gpu-monitoring` run this checkout's bin (test/cli/help.test.ts runs the real npx).
  shims = join(tmp, "bin");
  await mkdir(shims);
  await writeFile(join(shims, "gpu-monitoring"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  await writeFile(
    join(shims, "npx"),
    `#!/bin/sh\n[ "$1" = --no-install ] && shift\n[ "$1" = gpu-monitoring ] && { shift; exec "${process.execPath}" "${BIN}" "$@"; }\necho "docs example ran npx $*" >&2\nexit 127\n`,
  );
  await Promise.all([chmod(join(shims, "gpu-monitoring"), 0o755), chmod(join(shims, "npx"), 0o755)]);
  prometheus = await startPrometheus();
  // Enough of Grafana for `grafana upload` (bearer auth, create by uid) and `status` (its health).
  grafana = await startServer((req, res) => {
    if (req.method === "GET" && req.path === "/api/health") return sendJson(res, 200, { database: "ok", version: "11.0.0" });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return sendJson(res, 401, { message: "Invalid API key" });
    if (req.method !== "POST" || req.path !== "/api/dashboards/db") return sendJson(res, 404, { message: "Not found" });
    const uid = String((JSON.parse(req.body) as { dashboard: { uid: string } }).dashboard.uid);
    sendJson(res, 200, { id: 1, uid, url: `/d/${uid}/x`, status: "success", version: 1, slug: "x" });
  });
  examples = documentedExamples(ROOT);
  for (const path of commandPaths(buildProgram())) {
    const help = await runCli([...path, "--help"]);
    examples.push(...helpExamples(`gpu-monitoring ${path.join(" ")} --help`, help.stdout));
  }
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await grafana?.close();
  await rm(tmp, { recursive: true, force: true });
});

/**
 * A fresh working directory laid out as a user's: the repository's stacks, a stack file one level
 * up, stack outputs and a Grafana token file; the documented addresses point at this test's
 * Prometheus and Grafana, and /tmp/ at the test's own directory.
 */
async function workdir(n: number): Promise<{ cwd: string; command: (c: string) => string; env: NodeJS.ProcessEnv }> {
  const base = join(tmp, `ex${n}`);
  const cwd = join(base, "work");
  await mkdir(cwd, { recursive: true });
  await mkdir(join(base, "site"));
  await symlink(join(ROOT, "stacks"), join(cwd, "stacks"));
  await copyFile(join(ROOT, "stacks", "Pulumi.prod.yaml"), join(base, "site", "Pulumi.gpu01.yaml"));
  const outputs = JSON.stringify({ prometheusUrl: prometheus.url, platform: "docker" });
  await writeFile(join(cwd, "outputs.json"), outputs);
  await writeFile(join(cwd, "stack-outputs.json"), outputs);
  await writeFile(join(cwd, ".grafana-token"), `${TOKEN}\n`);
  return {
    cwd,
    command: (c) =>
      c
        .replaceAll("http://127.0.0.1:9090", prometheus.url)
        .replace(/https?:\/\/(127\.0\.0\.1:3000|grafana:3000|grafana\.example\.org)/g, grafana.url)
        .replace(/GRAFANA_TOKEN=glsa_\.\.\./g, `GRAFANA_TOKEN=${TOKEN}`)
        .replaceAll("/tmp/", `${base}/`),
    env: { PATH: `${shims}:${process.env.PATH ?? ""}`, HOME: cwd, PROMETHEUS_URL: prometheus.url, GRAFANA_URL: grafana.url, GRAFANA_TOKEN: TOKEN },
  };
}

function bash(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile("bash", ["-c", command], { cwd, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

describe("command examples in README.md, docs/*.md and --help", () => {
  it("finds the examples of every command", () => {
    const text = examples.map((e) => e.command).join("\n");
    for (const cmd of ["demo", "export", "exporter", "grafana upload", "query", "report", "status", "stacks"]) expect(text).toContain(`gpu-monitoring ${cmd}`);
    expect(examples.length).toBeGreaterThan(30);
  });

  it("marks each example that cannot run here with what it needs and why", () => {
    for (const e of examples.filter((x) => x.needs)) {
      expect(NEEDS, `${e.where}: "# needs ${e.needs?.what}: ..." is not one of ${NEEDS.join(", ")}`).toContain(e.needs?.what);
      expect(e.needs?.why.length, `${e.where}: give a reason after the colon`).toBeGreaterThan(10);
    }
  });

  it("runs every other example, and each succeeds", async () => {
    const runnable = examples.filter((e) => !e.needs);
    expect(runnable.length).toBeGreaterThan(20);
    const failures: string[] = [];
    // Two at a time: each pays tsx's start-up, and the machine is shared.
    for (let i = 0; i < runnable.length; i += 2) {
      const batch = runnable.slice(i, i + 2);
      const results = await Promise.all(
        batch.map(async (e, j) => {
          const w = await workdir(i + j);
          return { e, r: await bash(w.command(e.command), w.cwd, w.env) };
        }),
      );
      for (const { e, r } of results) {
        if (r.code !== 0) failures.push(`${e.where}: ${e.command}\n  exit ${r.code}: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`);
      }
    }
    expect(failures, failures.join("\n")).toEqual([]);
    expect(grafana.requests.some((r) => r.path === "/api/dashboards/db")).toBe(true);
  }, 600_000);
});
