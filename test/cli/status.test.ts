import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closedPort, runCli, sendJson, startServer, type LoopbackServer } from "./harness";

const servers: LoopbackServer[] = [];
let prometheus: LoopbackServer;
let grafana: LoopbackServer;
let nodeExporter: LoopbackServer;
let badGrafana: LoopbackServer;
let brokenDcgm: LoopbackServer;
let emptyMetrics: LoopbackServer;
let hungExporter: LoopbackServer;
let downPort: number;

async function serve(handler: Parameters<typeof startServer>[0]): Promise<LoopbackServer> {
  const s = await startServer(handler);
  servers.push(s);
  return s;
}

beforeAll(async () => {
  prometheus = await serve((req, res) => {
    res.writeHead(req.path === "/-/healthy" ? 200 : 404);
    res.end(req.path === "/-/healthy" ? "Prometheus Server is Healthy.\n" : "");
  });
  grafana = await serve((req, res) => (req.path === "/api/health" ? sendJson(res, 200, { database: "ok", version: "11.3.0" }) : sendJson(res, 404, {})));
  nodeExporter = await serve((req, res) => {
    res.writeHead(req.path === "/metrics" ? 200 : 404, { "Content-Type": "text/plain" });
    res.end(req.path === "/metrics" ? "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.5\nnode_load5 0.25\n" : "");
  });
  badGrafana = await serve((_req, res) => sendJson(res, 503, { database: "failing" }));
  brokenDcgm = await serve((_req, res) => {
    res.writeHead(503);
    res.end("DCGM not initialised");
  });
  emptyMetrics = await serve((_req, res) => {
    res.writeHead(200);
    res.end("# only comments\n");
  });
  hungExporter = await serve(() => undefined);
  downPort = await closedPort();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe("status", () => {
  it("checks each component's own health endpoint and exits 0 when all are healthy", async () => {
    const r = await runCli(["status", "--prometheus-url", prometheus.url, "--grafana-url", grafana.url, "--node-exporter-url", nodeExporter.url]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(prometheus.requests.at(-1)).toMatchObject({ method: "GET", path: "/-/healthy" });
    expect(grafana.requests.at(-1)).toMatchObject({ method: "GET", path: "/api/health" });
    expect(nodeExporter.requests.at(-1)).toMatchObject({ method: "GET", path: "/metrics" });
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^COMPONENT\s+STATUS\s+LATENCY\s+URL\s+DETAIL$/);
    expect(lines.at(-1)).toBe("all 3 components healthy");
    expect(lines.slice(1, -1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ["prometheus", "healthy"],
      ["grafana", "healthy"],
      ["nodeExporter", "healthy"],
    ]);
    expect(r.stdout).toContain("Prometheus Server is Healthy.");
    expect(r.stdout).toContain("database ok");
    expect(r.stdout).toContain("2 samples");
  });

  it("reads URLs from `pulumi stack output --json` on stdin; a flag overrides one", async () => {
    const outputs = JSON.stringify({ urls: { prometheus: `http://127.0.0.1:${downPort}`, grafana: grafana.url }, nodeExporterUrl: nodeExporter.url, grafanaAdminPassword: "[secret]" });
    const r = await runCli(["status", "--outputs", "-", "--prometheus-url", prometheus.url, "-o", "json"], { stdin: outputs });
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { healthy: boolean; components: { component: string; healthy: boolean; url: string }[] };
    expect(body.healthy).toBe(true);
    expect(body.components.map((c) => [c.component, c.url])).toEqual([
      ["prometheus", `${prometheus.url}/-/healthy`],
      ["grafana", `${grafana.url}/api/health`],
      ["nodeExporter", `${nodeExporter.url}/metrics`],
    ]);
  });

  it("reads the outputs index.ts exports (grafanaUrl, prometheusUrl, ...) from a file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gm-status-"));
    try {
      await writeFile(join(dir, "outputs.json"), JSON.stringify({ grafanaUrl: grafana.url, prometheusUrl: prometheus.url, platform: "docker" }));
      const r = await runCli(["status", "--outputs", "outputs.json"], { cwd: dir });
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split("\n").slice(1, -1).map((l) => l.split(/\s+/)[0])).toEqual(["prometheus", "grafana"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("marks every kind of failure unhealthy, bounded by --timeout, and exits 1", async () => {
    const started = Date.now();
    const r = await runCli([
      "status",
      "--prometheus-url", prometheus.url,
      "--grafana-url", badGrafana.url,
      "--dcgm-exporter-url", brokenDcgm.url,
      "--cadvisor-url", emptyMetrics.url,
      "--exporter-url", hungExporter.url,
      "--alertmanager-url", `http://127.0.0.1:${downPort}`,
      "--timeout", "400ms",
    ]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.code).toBe(1);
    const row = (name: string): string => r.stdout.split("\n").find((l) => l.startsWith(`${name} `)) ?? "";
    expect(row("prometheus")).toMatch(/healthy/);
    expect(row("alertmanager")).toMatch(/UNHEALTHY .*unreachable: ECONNREFUSED/);
    expect(row("grafana")).toMatch(/UNHEALTHY .*HTTP 503/);
    expect(row("exporter")).toMatch(/UNHEALTHY .*no answer within 400 ms/);
    expect(row("dcgmExporter")).toMatch(/UNHEALTHY .*HTTP 503: DCGM not initialised/);
    expect(row("cadvisor")).toMatch(/UNHEALTHY .*no samples in the answer/);
    expect(r.stdout).toContain("5 of 6 components unhealthy (alertmanager, grafana, exporter, dcgmExporter, cadvisor)");
    expect(r.stderr).toBe("");
  });

  it("takes URLs from PROMETHEUS_URL and the other *_URL variables; a flag wins", async () => {
    const r = await runCli(["status"], { env: { PROMETHEUS_URL: prometheus.url, NODE_EXPORTER_URL: nodeExporter.url } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${prometheus.url}/-/healthy`);
    expect(r.stdout).toContain(`${nodeExporter.url}/metrics`);
    const flagWins = await runCli(["status", "--grafana-url", badGrafana.url], { env: { GRAFANA_URL: grafana.url } });
    expect(flagWins.code).toBe(1);
    expect(flagWins.stdout).toContain(badGrafana.url);
  });

  it("--quiet prints nothing and answers with the exit code alone", async () => {
    const ok = await runCli(["status", "--prometheus-url", prometheus.url, "--quiet"]);
    expect(ok).toEqual({ code: 0, stdout: "", stderr: "" });
    const bad = await runCli(["status", "--prometheus-url", prometheus.url, "--grafana-url", badGrafana.url, "-q"]);
    expect(bad).toEqual({ code: 1, stdout: "", stderr: "" });
  });

  it("sends a user:password in the URL as basic auth and never prints the password", async () => {
    const expected = `Basic ${Buffer.from("monitor:s3cret-pass").toString("base64")}`;
    const guarded = await serve((req, res) => {
      res.writeHead(req.headers.authorization === expected ? 200 : 401);
      res.end(req.headers.authorization === expected ? "Healthy\n" : "Unauthorized\n");
    });
    const withAuth = guarded.url.replace("http://", "http://monitor:s3cret-pass@");
    const ok = await runCli(["status", "--prometheus-url", withAuth]);
    expect(ok.code).toBe(0);
    expect(guarded.requests.at(-1)?.headers.authorization).toBe(expected);
    expect(ok.stdout).toContain(`${guarded.url}/-/healthy`);
    const wrong = await runCli(["status", "--prometheus-url", guarded.url.replace("http://", "http://monitor:wrong-pass@")]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/UNHEALTHY .*HTTP 401/);
    for (const out of [ok.stdout, ok.stderr, wrong.stdout, wrong.stderr]) {
      expect(out).not.toContain("s3cret-pass");
      expect(out).not.toContain("wrong-pass");
    }
  });

  it("says what to give when there is nothing to check or the outputs cannot be read", async () => {
    const none = await runCli(["status"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no component URLs given");
    expect(none.stderr).toContain("next: pass --outputs");
    const notJson = await runCli(["status", "--outputs", "-"], { stdin: "Current stack outputs (2):" });
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain("stdin is not JSON");
    expect(notJson.stderr).toContain("pulumi stack output --json");
    const badUrl = await runCli(["status", "--grafana-url", "grafana:3000"]);
    expect(badUrl.stderr).toContain("--grafana-url must be http:// or https://");
  });
});
