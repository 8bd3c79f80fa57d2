import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GUIDE_FILE } from "../../cli/commands/export";
import { DOCKER_SERVICES_FILE, KUBERNETES_MANIFESTS_FILE, secretPlaceholder } from "../../cli/deploymentRecord";
import { MANIFEST_FILE } from "../../cli/exportManifest";
import { promqlExamples, rulesInBundle } from "../../cli/integrationGuide";
import { loadStackConfigFile } from "../../components/config";
import { renderBundle } from "../../components/render/bundle";
import { catalog } from "../../metrics";
import { checkAgainstCatalog } from "../../metrics/analyze";
import { closedPort, runCli } from "./harness";

const run = promisify(execFile);
const ROOT = resolve(__dirname, "..", "..");
const STACKS = join(ROOT, "stacks");
const stackNames = readdirSync(STACKS)
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((n): n is string => n !== undefined)
  .sort();

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gm-export-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function tree(dir: string): Promise<Map<string, Buffer>> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = new Map<string, Buffer>();
  for (const e of entries.filter((x) => x.isFile()).sort((a, b) => (join(a.parentPath, a.name) < join(b.parentPath, b.name) ? -1 : 1))) {
    const path = join(e.parentPath, e.name);
    files.set(relative(dir, path), await readFile(path));
  }
  return files;
}

async function exportStack(stack: string, out: string): Promise<void> {
  const r = await runCli(["export", "--stack", stack, "--stacks-dir", STACKS, "--out", out]);
  expect(r.stderr).not.toContain("error");
  expect(r.code).toBe(0);
}

describe("export", () => {
  it("finds the repository's stack files", () => {
    expect(stackNames).toEqual(expect.arrayContaining(["dev", "prod"]));
  });

  describe.each(stackNames)("stack %s", (stack) => {
    let out: string;
    beforeAll(async () => {
      out = join(tmp, stack, "a");
      await exportStack(stack, out);
    });

    it("writes identical bytes when exported twice, and rewrites nothing on a re-export", async () => {
      const second = join(tmp, stack, "b");
      await exportStack(stack, second);
      const [a, b] = [await tree(out), await tree(second)];
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [path, bytes] of a) expect(b.get(path)?.equals(bytes), path).toBe(true);

      const again = await runCli(["export", "--stack", stack, "--stacks-dir", STACKS, "--out", second]);
      expect(again.stderr).toContain(`wrote ${a.size - 1} files to ${second} (0 changed)`);
    });

    it("lays files out like DS01's monitoring folder, exactly the bundle plus the platform's record and the guide", async () => {
      const files = await tree(out);
      const cfg = loadStackConfigFile(join(STACKS, `Pulumi.${stack}.yaml`));
      const bundle = renderBundle(cfg);
      const record = cfg.platform === "kubernetes" ? KUBERNETES_MANIFESTS_FILE : DOCKER_SERVICES_FILE;
      const paths = [...files.keys()].filter((p) => p !== MANIFEST_FILE);
      expect(paths).toContain(GUIDE_FILE);
      expect(paths).toContain(record);
      expect(Object.keys((JSON.parse(files.get(MANIFEST_FILE)?.toString("utf8") ?? "{}") as { files: object }).files).sort()).toEqual([...paths].sort());
      const rendered = paths.filter((x) => x !== GUIDE_FILE && x !== record);
      for (const p of rendered) {
        expect(p).toMatch(/^(prometheus\/prometheus\.yml|prometheus\/rules\/[^/]+\.ya?ml|alertmanager\/alertmanager\.yml|grafana\/provisioning\/(datasources|dashboards)\/.+|exporter\/exporter\.args|dcgm-exporter\/[^/]+\.csv)$/);
      }
      if (cfg.platform === "docker") expect(rendered.sort()).toEqual(bundle.map((f) => f.path).sort());
      for (const [p, bytes] of files) if (p.endsWith(".json")) expect(() => JSON.parse(bytes.toString("utf8")), p).not.toThrow();
    });

    it("gives a prometheus.yml that promtool accepts where it lies, rule files included", async () => {
      const config = join(out, "prometheus", "prometheus.yml");
      if (!existsSync(config)) return;
      const ruleFiles = readdirSync(join(out, "prometheus", "rules")).sort();
      if (loadStackConfigFile(join(STACKS, `Pulumi.${stack}.yaml`)).platform === "kubernetes") {
        // Debian builds promtool without Kubernetes service discovery, so it cannot load a config
        // with kubernetes_sd_configs; the rule files it references are checked on their own.
        const listed = (parseYaml((await readFile(config)).toString("utf8")) as { rule_files: string[] }).rule_files;
        expect(listed.map((f) => f.replace(/^rules\//, "")).sort()).toEqual(ruleFiles);
        const { stdout } = await run("promtool", ["check", "rules", ...ruleFiles.map((f) => join(out, "prometheus", "rules", f))]);
        expect(stdout.match(/SUCCESS: \d+ rules found/g)).toHaveLength(ruleFiles.length);
        return;
      }
      const { stdout } = await run("promtool", ["check", "config", config]);
      expect(stdout).toContain("is valid prometheus config file syntax");
      expect(stdout).toContain(`SUCCESS: ${ruleFiles.length} rule files found`);
    });

    it("gives an alertmanager.yml that amtool accepts", async () => {
      const config = join(out, "alertmanager", "alertmanager.yml");
      if (!existsSync(config)) return;
      const { stdout } = await run("amtool", ["check-config", config]);
      expect(stdout).toContain("SUCCESS");
    });

    it("writes a guide with the scrape jobs, every alert, and every catalog metric", async () => {
      const guide = (await readFile(join(out, GUIDE_FILE), "utf8"));
      const files = await tree(out);
      const prom = files.get("prometheus/prometheus.yml");
      if (prom) {
        const snippet = /## Scrape config[\s\S]*?```yaml\n([\s\S]*?)```/.exec(guide)?.[1] ?? "";
        const jobs = (yaml: string): string[] => ((parseYaml(yaml) as { scrape_configs: { job_name: string }[] }).scrape_configs ?? []).map((j) => j.job_name);
        expect(jobs(snippet)).toEqual(jobs(prom.toString("utf8")));
      }
      const bundle = [...files].filter(([p]) => p.startsWith("prometheus/rules/")).map(([path, c]) => ({ path, content: c.toString("utf8") }));
      const { alerts } = rulesInBundle(bundle);
      for (const a of alerts) expect(guide).toContain(`| ${a.name} | ${a.severity} |`);
      for (const name of Object.keys(catalog)) expect(guide).toContain(`| \`${name}\` |`);
      expect(guide).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    });
  });

  it("records a cluster stack's objects with each secret as the name of its Pulumi secret, never a value", async () => {
    const text = await readFile(join(tmp, "k8s", "a", KUBERNETES_MANIFESTS_FILE), "utf8");
    const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind: string; stringData?: Record<string, string> });
    const secrets = docs.filter((d) => d.kind === "Secret");
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) for (const [key, value] of Object.entries(s.stringData ?? {})) expect(value).toBe(secretPlaceholder(key));
    expect(docs.map((d) => d.kind)).toEqual(expect.arrayContaining(["StatefulSet", "Deployment", "DaemonSet", "ConfigMap", "NetworkPolicy"]));
  });

  it("puts every rule file's alerts in the guide's alert list (dev)", async () => {
    const guide = await readFile(join(tmp, "dev", "a", GUIDE_FILE), "utf8");
    const count = (guide.match(/^\| [A-Z][A-Za-z0-9]+ \| (critical|warning|info|page|ticket|none)? ?\|/gm) ?? []).length;
    const { alerts } = rulesInBundle(renderBundle(loadStackConfigFile(join(STACKS, "Pulumi.dev.yaml"))));
    expect(alerts.length).toBeGreaterThan(0);
    expect(count).toBe(alerts.length);
  });

  it("writes PromQL examples that use only catalog metrics and labels, and that Prometheus parses", async () => {
    for (const ex of promqlExamples()) expect(checkAgainstCatalog(ex.expr), ex.expr).toEqual([]);
    // promtool parses each expression as a rule: a syntax error would fail the check.
    const rules = join(tmp, "examples.rules.yml");
    await writeFile(rules, JSON.stringify({ groups: [{ name: "examples", rules: promqlExamples().map((ex, i) => ({ record: `example:${i}`, expr: ex.expr })) }] }));
    const { stdout } = await run("promtool", ["check", "rules", rules]);
    expect(stdout).toContain(`SUCCESS: ${promqlExamples().length} rules found`);
  });

  it("exports a stack file given by path, and says what is wrong with a bad one", async () => {
    const file = join(tmp, "Pulumi.site.yaml");
    await writeFile(file, "config:\n  gpu-monitoring:platform: docker\n  gpu-monitoring:profile: dev\n  gpu-monitoring:exporter:\n    simulation: true\n  gpu-monitoring:grafanaAdminPassword:\n    secure: v1:abc\n");
    const ok = await runCli(["export", "--stack-file", file, "--out", join(tmp, "site"), "-q"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect((await readFile(join(tmp, "site", GUIDE_FILE), "utf8")).split("\n")[0]).toBe("# gpu-monitoring integration guide: stack `site`");

    await writeFile(file, "config:\n  gpu-monitoring:platform: dockr\n");
    const bad = await runCli(["export", "--stack-file", file, "--out", join(tmp, "bad")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("gpu-monitoring:platform");
    expect(bad.stderr).toContain('"dockr"');
    expect(bad.stderr).toContain("next: fix the keys above in");
    expect(existsSync(join(tmp, "bad"))).toBe(false);

    const unknown = await runCli(["export", "--stack", "nope", "--stacks-dir", STACKS, "--out", join(tmp, "nope")]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no stack file for "nope"');
    expect(unknown.stderr).toContain(`choose one of: ${stackNames.join(", ")}`);
  });

  it("--addressing loopback points every target at 127.0.0.1 and the configured ports, and Prometheus loads it", async () => {
    const out = join(tmp, "loopback");
    const r = await runCli(["export", "--stack", "dev", "--stacks-dir", STACKS, "--addressing", "loopback", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const cfg = loadStackConfigFile(join(STACKS, "Pulumi.dev.yaml"));
    const prom = parseYaml(await readFile(join(out, "prometheus", "prometheus.yml"), "utf8")) as {
      scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
    const targets = prom.scrape_configs.flatMap((j) => (j.static_configs ?? []).flatMap((c) => c.targets));
    expect(targets.length).toBeGreaterThan(3);
    for (const t of targets) expect(t).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(targets).toEqual(expect.arrayContaining([`127.0.0.1:${cfg.ports.prometheus}`, `127.0.0.1:${cfg.ports.nodeExporter}`, `127.0.0.1:${cfg.ports.exporter}`]));
    expect(prom.alerting.alertmanagers[0]?.static_configs[0]?.targets).toEqual([`127.0.0.1:${cfg.ports.alertmanager}`]);
    const provider = await readFile(join(out, "grafana", "provisioning", "dashboards", "default.yml"), "utf8");
    expect(provider).toContain(join(out, "grafana", "provisioning", "dashboards", "dashboards"));
    const { stdout } = await run("promtool", ["check", "config", join(out, "prometheus", "prometheus.yml")]);
    expect(stdout).toContain("is valid prometheus config file syntax");

    const bad = await runCli(["export", "--stack", "dev", "--stacks-dir", STACKS, "--addressing", "dns", "--out", join(tmp, "nothing")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--addressing "dns" is not one of container, loopback');
    const k8s = await runCli(["export", "--stack", "k8s", "--stacks-dir", STACKS, "--addressing", "loopback", "--out", join(tmp, "nothing")]);
    expect(k8s.code).toBe(2);
    expect(existsSync(join(tmp, "nothing"))).toBe(false);
  });

  it("refuses to overwrite a file edited since the last export unless --force, and replaces unedited ones", async () => {
    const out = join(tmp, "edits");
    const args = ["export", "--stack", "dev", "--stacks-dir", STACKS, "--out", out];
    expect((await runCli(args)).code).toBe(0);
    const am = join(out, "alertmanager", "alertmanager.yml");
    const edited = `${await readFile(am, "utf8")}# a hand edit\n`;
    await writeFile(am, edited);
    const promPath = join(out, "prometheus", "prometheus.yml");
    const original = await readFile(promPath, "utf8");

    const refused = await runCli(args);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("1 file(s) in");
    expect(refused.stderr).toContain("alertmanager/alertmanager.yml");
    expect(refused.stderr).toContain("--force");
    expect(await readFile(am, "utf8")).toBe(edited);

    // A file the last export wrote and nobody touched is simply replaced by a changed render.
    const loopback = await runCli([...args, "--addressing", "loopback", "--force"]);
    expect(loopback.code, loopback.stderr).toBe(0);
    expect(loopback.stderr).toContain("1 edited by hand overwritten (--force)");
    expect(await readFile(am, "utf8")).not.toContain("# a hand edit");
    expect(await readFile(promPath, "utf8")).not.toBe(original);
    const back = await runCli(args);
    expect(back.code, back.stderr).toBe(0);
    expect(await readFile(promPath, "utf8")).toBe(original);
  });

  it("exports a stack with Grafana on but no admin password: the bundle never holds it", async () => {
    const file = join(tmp, "Pulumi.nopass.yaml");
    await writeFile(file, "config:\n  gpu-monitoring:platform: docker\n  gpu-monitoring:exporter:\n    simulation: true\n");
    const r = await runCli(["export", "--stack-file", file, "--out", join(tmp, "nopass"), "-q"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(existsSync(join(tmp, "nopass", "grafana", "provisioning", "datasources", "datasources.yml"))).toBe(true);
  });

  it("warns on stderr about each unauthenticated service published beyond loopback, and refuses it without the opt-in", async () => {
    const file = join(tmp, "Pulumi.exposed.yaml");
    const base = "config:\n  gpu-monitoring:platform: docker\n  gpu-monitoring:profile: dev\n  gpu-monitoring:bindAddress: 0.0.0.0\n  gpu-monitoring:exporter:\n    simulation: true\n  gpu-monitoring:grafanaAdminPassword:\n    secure: v1:abc\n";
    await writeFile(file, base);
    const refused = await runCli(["export", "--stack-file", file, "--out", join(tmp, "exposed-refused"), "-q"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("gpu-monitoring:bindAddress");
    expect(refused.stderr).toContain("exposeUnauthenticated: true");
    await writeFile(file, base + "  gpu-monitoring:exposeUnauthenticated: true\n");
    const warned = await runCli(["export", "--stack-file", file, "--out", join(tmp, "exposed"), "-q"]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/^warning: prometheus is published on 0\.0\.0\.0:9090 without authentication/m);
    expect(warned.stderr).toMatch(/^warning: alertmanager is published on 0\.0\.0\.0:9093/m);
  });

  it("opens no network connection", async () => {
    const connect = vi.spyOn(Socket.prototype, "connect");
    try {
      for (const stack of stackNames) await exportStack(stack, join(tmp, "offline", stack));
      expect(connect).not.toHaveBeenCalled();
      // Control: the spy does see a connection when one is made.
      const port = await closedPort();
      await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      expect(connect).toHaveBeenCalled();
    } finally {
      connect.mockRestore();
    }
  });

  it("exported dashboards upload with grafana upload --from-dir", async () => {
    const dir = join(tmp, "dev", "a", "grafana", "provisioning", "dashboards", "dashboards");
    const port = await closedPort();
    const r = await runCli(["grafana", "upload", "--from-dir", dir, "--url", `http://127.0.0.1:${port}`, "--timeout", "500ms"], { env: { GRAFANA_TOKEN: "glsa_export_test_token_0123456789" } });
    // Nothing listens there: the files were read and validated, and the first request failed to connect.
    const count = readdirSync(dir).filter((f) => f.endsWith(".json")).length;
    expect(r.stderr).toMatch(new RegExp(`\\[1/${count}\\] uploading "`));
    expect(r.stderr).toContain(`cannot reach http://127.0.0.1:${port}/api/dashboards/db: ECONNREFUSED (0 of ${count} dashboards uploaded)`);
  });
});
