import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboards } from "../../dashboards";
import { runCli, sendJson, startServer } from "./harness";

const SECRET = "glsa_SECRET_never_echoed_0123456789";

describe("the CLI never echoes a secret it was given", () => {
  it("mistyped secret options: the value after = is not repeated", async () => {
    for (const args of [
      ["exporter", `--apikey=${SECRET}`],
      ["exporter", `--api_key=${SECRET}`],
      ["exporter", `--drm-api-key=${SECRET}`],
      ["grafana", "upload", `--tokn=${SECRET}`],
      ["grafana", "upload", `--password=${SECRET}`],
      ["query", `--bearer=${SECRET}`],
      ["status", `-x=${SECRET}`],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr + r.stdout, args.join(" ")).not.toContain(SECRET);
      expect(r.stderr, args.join(" ")).toMatch(/unknown option/);
    }
  });

  it("a URL flag that is not a URL, or carries user:password@, is not repeated", async () => {
    for (const url of [`not a url ${SECRET}`, `http://admin:${SECRET}@127.0.0.1:1/`]) {
      const r = await runCli(["grafana", "upload", "--url", url], { env: { GRAFANA_TOKEN: "x" } });
      expect(r.code).not.toBe(0);
      expect(r.stderr + r.stdout).not.toContain(SECRET);
      expect(r.stderr).toContain("--url");
    }
  });

  describe("grafana upload against a Grafana that reflects the token", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "cli-secrets-"));
      const first = buildDashboards()[0]!;
      await writeFile(join(dir, first.fileName), first.json);
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("shows the URL column with the token taken out", async () => {
      const grafana = await startServer((req, res) => {
        const token = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
        sendJson(res, 200, { id: 1, uid: "u", url: `/d/u/${token}?auth=${token}`, status: "success", version: 1 });
      });
      try {
        const r = await runCli(["grafana", "upload", "--url", grafana.url, "--from-dir", dir], { env: { GRAFANA_TOKEN: SECRET } });
        expect(grafana.requests.length).toBeGreaterThan(0);
        expect(r.stdout + r.stderr).not.toContain(SECRET);
        expect(r.stdout).toContain("uploaded");
      } finally {
        await grafana.close();
      }
    });
  });
});
