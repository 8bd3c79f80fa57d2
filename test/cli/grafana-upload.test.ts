import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildDashboards } from "../../dashboards";
import { closedPort, runCli, sendJson, startServer, type LoopbackServer, type RecordedRequest } from "./harness";

const TOKEN = "glsa_test_0123456789abcdef_secret";

interface Stored {
  version: number;
  model: Record<string, unknown>;
}

/**
 * Enough of Grafana's POST /api/dashboards/db to test against: bearer auth, create-or-update by
 * uid, and the version check Grafana makes when overwrite is false.
 */
function fakeGrafana(store: Map<string, Stored>, prefix = "") {
  return (req: RecordedRequest, res: ServerResponse): void => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      sendJson(res, 401, { message: "Invalid API key" });
      return;
    }
    if (req.method !== "POST" || req.path !== `${prefix}/api/dashboards/db`) {
      sendJson(res, 404, { message: "Not found" });
      return;
    }
    const body = JSON.parse(req.body) as { dashboard: Record<string, unknown>; overwrite: boolean };
    const uid = String(body.dashboard.uid);
    const existing = store.get(uid);
    const sentVersion = typeof body.dashboard.version === "number" ? body.dashboard.version : 0;
    if (existing && !body.overwrite && sentVersion !== existing.version) {
      sendJson(res, 412, { message: "The dashboard has been changed by someone else", status: "version-mismatched" });
      return;
    }
    const version = (existing?.version ?? 0) + 1;
    store.set(uid, { version, model: body.dashboard });
    sendJson(res, 200, { id: 1, uid, url: `/d/${uid}/slug`, status: "success", version, slug: "slug" });
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gm-grafana-"));
  await writeFile(join(dir, "a-gpu.json"), JSON.stringify({ uid: "gpu-overview", title: "GPU overview", panels: [{ id: 1 }] }));
  await writeFile(join(dir, "b-users.json"), JSON.stringify({ uid: "ds01-users", title: "DS01 users", panels: [] }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const servers: LoopbackServer[] = [];
async function serve(handler: Parameters<typeof startServer>[0]): Promise<LoopbackServer> {
  const s = await startServer(handler);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("grafana upload", () => {
  it("posts each dashboard by uid with the bearer token, then updates in place on a second run", async () => {
    const store = new Map<string, Stored>();
    const grafana = await serve(fakeGrafana(store));
    const env = { GRAFANA_URL: grafana.url, GRAFANA_TOKEN: TOKEN };

    const first = await runCli(["grafana", "upload", "--from-dir", dir], { env });
    expect(first.stderr).not.toContain("error");
    expect(first.code).toBe(0);
    expect(grafana.requests).toHaveLength(2);
    for (const req of grafana.requests) {
      expect(req.method).toBe("POST");
      expect(req.path).toBe("/api/dashboards/db");
      expect(req.headers["content-type"]).toBe("application/json");
      expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
      const body = JSON.parse(req.body) as { dashboard: { id: unknown; uid: string }; overwrite: boolean; message: string };
      expect(body.dashboard.id).toBeNull();
      expect(body.overwrite).toBe(true);
      expect(body.message).toBe("uploaded by gpu-monitoring");
    }
    expect(grafana.requests.map((r) => (JSON.parse(r.body) as { dashboard: { uid: string } }).dashboard.uid)).toEqual(["gpu-overview", "ds01-users"]);
    expect(first.stderr).toContain('[1/2] uploading "GPU overview" (uid gpu-overview)');
    expect(first.stderr).toContain('[2/2] uploaded "DS01 users" version 1');
    expect(first.stdout).toMatch(/gpu-overview\s+GPU overview\s+uploaded\s+1\s+http:\/\/127\.0\.0\.1:\d+\/d\/gpu-overview\/slug/);

    const second = await runCli(["grafana", "upload", "--from-dir", dir], { env });
    expect(second.code).toBe(0);
    expect([...store.keys()].sort()).toEqual(["ds01-users", "gpu-overview"]);
    expect(store.get("gpu-overview")?.version).toBe(2);
    expect(second.stdout).toMatch(/gpu-overview\s+GPU overview\s+uploaded\s+2/);
    for (const out of [first.stdout, first.stderr, second.stdout, second.stderr]) expect(out).not.toContain(TOKEN);
  });

  it("takes the token from --token-file and honours a Grafana under a sub-path, a folder and --only", async () => {
    const store = new Map<string, Stored>();
    const grafana = await serve(fakeGrafana(store, "/grafana"));
    const tokenFile = join(dir, "token.txt");
    await writeFile(tokenFile, `${TOKEN}\n`);
    const r = await runCli(["grafana", "upload", "--url", `${grafana.url}/grafana/`, "--token-file", tokenFile, "--from-dir", dir, "--only", "ds01-users", "--folder-uid", "gpu", "-q"]);
    await rm(tokenFile);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(grafana.requests).toHaveLength(1);
    expect(grafana.requests[0]?.path).toBe("/grafana/api/dashboards/db");
    expect((JSON.parse(grafana.requests[0]?.body ?? "{}") as { folderUid?: string }).folderUid).toBe("gpu");
    expect([...store.keys()]).toEqual(["ds01-users"]);
  });

  it("stops at a rejected token with a message to check it, and never prints the token", async () => {
    const grafana = await serve(fakeGrafana(new Map()));
    const wrong = "glsa_wrong_token_value_42";
    const r = await runCli(["grafana", "upload", "--url", grafana.url, "--from-dir", dir], { env: { GRAFANA_TOKEN: wrong } });
    expect(r.code).toBe(1);
    expect(grafana.requests).toHaveLength(1);
    expect(r.stderr).toContain("401 Unauthorized");
    expect(r.stderr).toContain("check the token");
    expect(r.stdout + r.stderr).not.toContain(wrong);
  });

  it("reports a 412 version conflict with the way out, and --overwrite replaces the changed dashboard", async () => {
    const store = new Map<string, Stored>();
    const grafana = await serve(fakeGrafana(store));
    const env = { GRAFANA_URL: grafana.url, GRAFANA_TOKEN: TOKEN };
    expect((await runCli(["grafana", "upload", "--from-dir", dir, "--only", "gpu-overview", "-q"], { env })).code).toBe(0);
    // Someone edits the dashboard in Grafana's UI: its version moves on.
    const edited = store.get("gpu-overview");
    if (!edited) throw new Error("first upload did not store the dashboard");
    edited.version = 7;

    const refused = await runCli(["grafana", "upload", "--from-dir", dir, "--no-overwrite"], { env });
    expect(refused.code).toBe(1);
    expect(grafana.requests.slice(1).map((r) => (JSON.parse(r.body) as { overwrite: boolean }).overwrite)).toEqual([false, false]);
    expect(refused.stdout).toMatch(/gpu-overview\s+GPU overview\s+FAILED/);
    expect(refused.stdout).toContain("already exists in Grafana (at another version, perhaps edited there); rerun with --overwrite");
    expect(refused.stdout).toMatch(/ds01-users\s+DS01 users\s+uploaded\s+1/);
    expect(refused.stderr).toContain("1 of 2 dashboards failed");
    expect(store.get("gpu-overview")?.version).toBe(7);

    const replaced = await runCli(["grafana", "upload", "--from-dir", dir, "--overwrite"], { env });
    expect(replaced.code).toBe(0);
    expect(store.get("gpu-overview")?.version).toBe(8);
  });

  it("gives up on a Grafana that does not answer within --timeout", async () => {
    // Accepts the request and never answers; close() ends the hung connection.
    const grafana = await serve(() => undefined);
    const started = Date.now();
    const r = await runCli(["grafana", "upload", "--url", grafana.url, "--from-dir", dir, "--timeout", "300ms"], { env: { GRAFANA_TOKEN: TOKEN } });
    const elapsed = Date.now() - started;
    expect(r.code).toBe(1);
    expect(elapsed).toBeLessThan(5_000);
    expect(grafana.requests).toHaveLength(1);
    expect(r.stderr).toContain("did not answer within 300 ms (0 of 2 dashboards uploaded)");
    expect(r.stderr).toContain("next: check that --url points at Grafana");
  });

  it("says what to do when Grafana is unreachable, the token is missing, or the server echoes the token", async () => {
    const port = await closedPort();
    const down = await runCli(["grafana", "upload", "--url", `http://127.0.0.1:${port}`, "--from-dir", dir], { env: { GRAFANA_TOKEN: TOKEN } });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`cannot reach http://127.0.0.1:${port}/api/dashboards/db: ECONNREFUSED`);
    expect(down.stderr).toContain("next: check --url / GRAFANA_URL");

    const noToken = await runCli(["grafana", "upload", "--url", "http://127.0.0.1:1", "--from-dir", dir]);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain("no Grafana token given");
    expect(noToken.stderr).toContain("set GRAFANA_TOKEN");

    const echo = await serve((req, res) => sendJson(res, 500, { message: `internal error handling ${String(req.headers.authorization)}` }));
    const echoed = await runCli(["grafana", "upload", "--url", echo.url, "--from-dir", dir], { env: { GRAFANA_TOKEN: TOKEN } });
    expect(echoed.code).toBe(1);
    expect(echoed.stdout).toContain("Grafana answered 500: internal error handling Bearer ***");
    expect(echoed.stdout + echoed.stderr).not.toContain(TOKEN);
  });
});

describe("grafana upload of the built-in dashboards", () => {
  it("uploads every dashboard dashboards/ builds, each under its own uid", async () => {
    const built = buildDashboards();
    expect(built.length).toBeGreaterThan(0);
    const store = new Map<string, Stored>();
    const grafana = await serve(fakeGrafana(store));
    const r = await runCli(["grafana", "upload", "-q"], { env: { GRAFANA_URL: grafana.url, GRAFANA_TOKEN: TOKEN } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect([...store.keys()].sort()).toEqual(built.map((d) => d.uid).sort());
    for (const d of built) {
      const sent = store.get(d.uid)?.model;
      expect(sent?.title).toBe(d.title);
      // What went up is the built model itself, with only id cleared for update-by-uid.
      expect({ ...sent, id: undefined }).toEqual({ ...(JSON.parse(d.json) as Record<string, unknown>), id: undefined });
    }
  });
});
