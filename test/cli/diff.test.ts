import { execFile } from "node:child_process";
import { appendFile, cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Change, FieldChange } from "../../cli/diff/model";
import { runCli, type CliRun } from "./harness";

/**
 * `diff` on real revisions: a temporary clone of this repository (sharing node_modules), one
 * commit per kind of change, and `diff --base HEAD~1`, which exports both revisions with their own
 * code. Each change must be reported as exactly that change.
 */

const run = promisify(execFile);
const ROOT = resolve(__dirname, "..", "..");
const SLOW = 180_000;

let tmp: string;
let repo: string;

const git = async (...args: string[]) => (await run("git", args, { cwd: repo })).stdout;

/** Replaces text in a file of the clone. */
const edit = (path: string, from: string | RegExp, to: string) => replaceIn(join(repo, path), from, to);

async function replaceIn(file: string, from: string | RegExp, to: string): Promise<void> {
  const text = await readFile(file, "utf8");
  const next = text.replace(from, to);
  if (next === text) throw new Error(`${file}: ${String(from)} not found`);
  await writeFile(file, next);
}

/** Adds keys to the end of a stack file's `config:` block. */
const addConfig = (stack: string, yaml: string) => appendFile(join(repo, "stacks", `Pulumi.${stack}.yaml`), yaml);

async function commit(message: string): Promise<void> {
  await git("commit", "-q", "-a", "-m", message);
}

interface JsonReport {
  summary: string;
  changes: number;
  notes: string[];
  stacks: { stack: string; changes: Change[] }[];
}

async function diffBase(stack: string, format = "json"): Promise<CliRun> {
  return runCli(["diff", "--base", "HEAD~1", "--stack", stack, "-o", format], { cwd: repo });
}

async function changesOf(stack: string): Promise<Change[]> {
  const r = await diffBase(stack);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(1);
  const report = JSON.parse(r.stdout) as JsonReport;
  expect(report.stacks.map((s) => s.stack)).toEqual([stack]);
  return report.stacks[0]?.changes ?? [];
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gm-diff-"));
  repo = join(tmp, "repo");
  await run("git", ["clone", "--quiet", ROOT, repo]);
  await symlink(join(ROOT, "node_modules"), join(repo, "node_modules"), "dir");
  await git("config", "user.name", "diff test");
  await git("config", "user.email", "diff-test@example.invalid");
}, 60_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const where = (group: string, file: string) => `group ${group} (prometheus/rules/${file})`;

describe("diff --base on a clone of the project", () => {
  it("reports a threshold set in a stack file as the alert's threshold", async () => {
    await addConfig("dev", "  gpu-monitoring:thresholds:\n    ds01:\n      gpuTemperatureWarningCelsius: 87\n");
    await commit("warn at 87C");
    const changes = await changesOf("dev");
    // The panels that show GPU temperature colour by the same threshold, so they change with the alert.
    expect(changes.filter((c) => c.area === "dashboards").map((c) => [c.subject, c.fields?.find((f) => f.field === "thresholds")?.after])).toEqual([
      ['panel "Hottest GPU" (id 4)', "green, 87 orange, 90 red"],
      ['panel "GPU temperature" (id 18)', "green, 87 orange, 90 red"],
      ['panel "Hottest GPU" (id 4)', "green, 87 orange, 90 red"],
      ['panel "GPU temperature" (id 19)', "green, 87 orange, 90 red"],
    ]);
    expect(changes.filter((c) => c.area !== "dashboards")).toEqual([
      {
        area: "alerts",
        kind: "changed",
        subject: "alert DS01GPUHighTemperature",
        where: where("ds01_gpu_alerts", "ds01.alerts.yml"),
        fields: [
          { field: "threshold", before: "85", after: "87" },
          // The summary quotes the threshold, so it changes with it.
          { field: "annotations.summary", before: "GPU {{ $labels.gpu }} temperature high (above 85C)", after: "GPU {{ $labels.gpu }} temperature high (above 87C)" },
        ],
      },
    ]);
  }, SLOW);

  it("reports a new alert with its expression, hold time and severity", async () => {
    await edit(
      "alerts/rules/ds01.ts",
      /(\n\s*)(targetDownAlert\(\{ alert: "DS01CAdvisorDown")/,
      `$1targetDownAlert({ alert: "DS01ExampleDown", job: j.exporter, for: "9m", severity: "warning", summary: "Example is down", description: "An example" }),$1$2`,
    );
    await commit("a new alert");
    expect(await changesOf("dev")).toEqual([
      {
        area: "alerts",
        kind: "added",
        subject: "alert DS01ExampleDown",
        where: where("ds01_system_alerts", "ds01.alerts.yml"),
        fields: [
          { field: "expr", after: 'up{job="ds01-exporter"} == 0' },
          { field: "for", after: "9m" },
          { field: "severity", after: "warning" },
        ],
      },
    ]);
  }, SLOW);

  it("reports a panel's query by dashboard, panel and refId", async () => {
    await edit("dashboards/host.ts", `{ expr: sel(node.node_memory_MemAvailable_bytes, HOST), legend: "available" }`, "{ expr: `min(${sel(node.node_memory_MemAvailable_bytes, HOST)})`, legend: \"available\" }");
    await commit("panel query");
    expect(await changesOf("dev")).toEqual([
      {
        area: "dashboards",
        kind: "changed",
        subject: 'panel "Memory" (id 12)',
        where: "dashboard host",
        fields: [{ field: "query B", before: 'node_memory_MemAvailable_bytes{instance="$instance"}', after: 'min(node_memory_MemAvailable_bytes{instance="$instance"})' }],
      },
    ]);
  }, SLOW);

  it("reports a scrape interval", async () => {
    await addConfig("dev", "  gpu-monitoring:scrapeIntervals:\n    exporter: 15s\n");
    await commit("scrape the exporter every 15s");
    expect(await changesOf("dev")).toEqual([
      { area: "prometheus", kind: "changed", subject: "scrape job ds01-exporter", fields: [{ field: "scrape_interval", before: "30s", after: "15s" }] },
    ]);
  }, SLOW);

  it("reports an Alertmanager route's repeat interval", async () => {
    await addConfig("dev", "  gpu-monitoring:alerting:\n    routing:\n      critical:\n        repeatInterval: 4h\n");
    await commit("repeat critical every 4h");
    expect(await changesOf("dev")).toEqual([
      { area: "alertmanager", kind: "changed", subject: "route severity=critical", fields: [{ field: "repeat_interval", before: "1h", after: "4h" }] },
    ]);
  }, SLOW);

  it("reports a Kubernetes memory limit on the object that carries it", async () => {
    await edit("components/services/grafana.ts", `resources("100m", "128Mi", "500m", "512Mi")`, `resources("100m", "128Mi", "500m", "1Gi")`);
    await commit("grafana gets 1Gi");
    expect(await changesOf("k8s")).toEqual([
      {
        area: "kubernetes",
        kind: "changed",
        subject: "Deployment monitoring/gpu-monitoring-grafana",
        fields: [{ field: "containers[gpu-monitoring-grafana].resources.limits.memory", before: "512Mi", after: "1Gi" }],
      },
    ]);
  }, SLOW);

  it("reports a renamed alert as renamed, not as one removed and one added", async () => {
    await edit("alerts/rules/ds01.ts", `alert: "DS01CAdvisorDown"`, `alert: "DS01CadvisorDown"`);
    await commit("rename");
    expect(await changesOf("dev")).toEqual([
      { area: "alerts", kind: "renamed", subject: "alert DS01CadvisorDown", where: where("ds01_system_alerts", "ds01.alerts.yml"), from: "DS01CAdvisorDown" },
    ]);
  }, SLOW);

  it("says nothing and exits 0 for revisions that export the same, notes a different lockfile, and leaves no worktree", async () => {
    await appendFile(join(repo, "package-lock.json"), "\n");
    await commit("lockfile only");
    const r = await runCli(["diff", "--base", "HEAD~1", "--stack", "dev"], { cwd: repo });
    expect(r.stdout).toBe("");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("note: package-lock.json differs between HEAD~1 and the working tree; HEAD~1 was exported with the working tree's node_modules.\n");
    expect((await git("worktree", "list", "--porcelain")).match(/^worktree /gm)).toHaveLength(1);
  }, SLOW);

  it("never shows a secret: not from the stack file, not a secret file's path", async () => {
    const secret = "xoxb-0000-SECRETVALUE-a1b2c3";
    await addConfig(
      "dev",
      `  gpu-monitoring:slackWebhookUrl:\n    secure: v1:${secret}\n  gpu-monitoring:alerting:\n    receivers:\n      - name: team\n        type: slack\n        webhookUrlSecret: slackWebhookUrl\n`,
    );
    // The alerting key appears twice now: YAML keeps the last, so drop the earlier one.
    await edit("stacks/Pulumi.dev.yaml", "  gpu-monitoring:alerting:\n    routing:\n      critical:\n        repeatInterval: 4h\n", "");
    await commit("slack receiver");
    const outputs: string[] = [];
    const base = await diffBase("dev", "json");
    expect(base.code, base.stderr).toBe(1);
    outputs.push(base.stdout, base.stderr);
    // The other formats of the same change, from exports of the two stack files (one Node process).
    const [before, after] = [join(tmp, "secret-before"), join(tmp, "secret-after")];
    const previousFile = join(tmp, "Pulumi.dev.yaml");
    await writeFile(previousFile, await git("show", "HEAD~1:stacks/Pulumi.dev.yaml"));
    expect((await runCli(["export", "--stack-file", previousFile, "--out", before, "-q"])).code).toBe(0);
    expect((await runCli(["export", "--stack", "dev", "--stacks-dir", join(repo, "stacks"), "--out", after, "-q"])).code).toBe(0);
    for (const format of ["markdown", "text"]) {
      const r = await runCli(["diff", before, after, "-o", format]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toContain("receiver team");
      outputs.push(r.stdout, r.stderr);
    }
    const report = JSON.parse(outputs[0] ?? "") as JsonReport;
    expect(report.stacks[0]?.changes).toEqual(
      expect.arrayContaining([
        { area: "alertmanager", kind: "added", subject: "receiver team", fields: [{ field: "integrations", after: "slack_configs" }] },
        { area: "alertmanager", kind: "removed", subject: "receiver none" },
      ]),
    );

    // Secret file paths that look like secrets themselves: only that they changed is said.
    const [a, b] = [join(tmp, "secret-a"), join(tmp, "secret-b")];
    expect((await runCli(["export", "--stack", "dev", "--stacks-dir", join(repo, "stacks"), "--out", a, "-q"])).code).toBe(0);
    await cp(a, b, { recursive: true });
    const am = "alertmanager/alertmanager.yml";
    const yml = await readFile(join(a, am), "utf8");
    expect(yml).toMatch(/api_url_file: \S+/);
    await writeFile(join(a, am), yml.replace(/api_url_file: \S+/, `api_url_file: /run/secrets/${secret}-old`));
    await writeFile(join(b, am), yml.replace(/api_url_file: \S+/, `api_url_file: /run/secrets/${secret}-new`));
    for (const format of ["json", "markdown", "text"]) {
      const r = await runCli(["diff", a, b, "-o", format]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("api_url_file");
      outputs.push(r.stdout, r.stderr);
    }
    const dirs = JSON.parse(outputs[6] ?? "") as JsonReport;
    expect(outputs).toHaveLength(12);
    expect(dirs.stacks[0]?.changes).toEqual([
      { area: "alertmanager", kind: "changed", subject: "receiver team", fields: [{ field: "slack_configs[0].api_url_file", hidden: true }] },
    ]);
    for (const out of outputs) expect(out).not.toContain("SECRETVALUE");
  }, SLOW);
});

describe("diff of export directories", () => {
  let dev: string;
  let prod: string;
  beforeAll(async () => {
    [dev, prod] = [join(tmp, "dirs", "dev"), join(tmp, "dirs", "prod")];
    for (const [stack, out] of [["dev", dev], ["prod", prod]] as const) {
      expect((await runCli(["export", "--stack", stack, "--stacks-dir", join(ROOT, "stacks"), "--out", out, "-q"])).code).toBe(0);
    }
  }, 60_000);

  it("cuts Markdown at the size limit, summary first, fences closed, with a truncated marker", async () => {
    const full = await runCli(["diff", dev, prod, "-o", "json"]);
    const total = (JSON.parse(full.stdout) as JsonReport).changes;
    const r = await runCli(["diff", dev, prod, "--max-bytes", "2000"]);
    expect(r.code).toBe(1);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(2000);
    expect(r.stdout.split("\n")[0]).toBe(`**gpu-monitoring diff**: ${total} changes in stack prod (${(JSON.parse(full.stdout) as JsonReport).summary.split("(")[1]}`);
    expect(r.stdout).toMatch(new RegExp(`> \\*\\*Truncated\\*\\*: \\d+ of ${total} changes not shown`));
    expect((r.stdout.match(/^\s*```/gm) ?? []).length % 2).toBe(0);
    const uncut = await runCli(["diff", dev, prod]);
    expect(uncut.stdout).not.toContain("Truncated");
  });

  it("shows a moved panel, a changed variable and a changed unit and threshold", async () => {
    const after = join(tmp, "dirs", "dev-edited");
    await cp(dev, after, { recursive: true });
    const file = join(after, "grafana/provisioning/dashboards/dashboards/host.json");
    const d = JSON.parse(await readFile(file, "utf8")) as { panels: Record<string, unknown>[]; templating: { list: Record<string, unknown>[] } };
    const panel = d.panels.find((p) => p.title === "Memory used %");
    if (!panel) throw new Error("no panel Memory used %");
    const memory = d.panels.find((p) => p.title === "Memory");
    if (!memory) throw new Error("no panel Memory");
    memory.gridPos = { ...(memory.gridPos as object), x: 12 };
    const defaults = (panel.fieldConfig as { defaults: Record<string, unknown> }).defaults;
    defaults.unit = "percentunit";
    defaults.thresholds = { mode: "absolute", steps: [{ color: "green", value: null }, { color: "red", value: 90 }] };
    const variable = d.templating.list.find((v) => v.name === "instance");
    if (!variable) throw new Error("no variable $instance");
    variable.query = "label_values(up, instance)";
    await writeFile(file, JSON.stringify(d, null, 2));
    const r = await runCli(["diff", dev, after, "-o", "json"]);
    const changes = (JSON.parse(r.stdout) as JsonReport).stacks[0]?.changes ?? [];
    expect(changes.map((c) => `${c.kind} ${c.subject}: ${(c.fields ?? []).map((f) => f.field).join(", ")}`)).toEqual([
      'changed panel "Memory used %" (id 13): unit, thresholds',
      'moved panel "Memory" (id 11): gridPos',
      "changed variable $instance: query",
    ]);
  });

  it("shows a rule group's interval, a hold time, and an expression whose structure changed in full", async () => {
    const after = join(tmp, "dirs", "dev-rules");
    await cp(dev, after, { recursive: true });
    const file = join(after, "prometheus/rules/ds01.alerts.yml");
    const text = await readFile(file, "utf8");
    const edited = text
      .replace("  - name: ds01_gpu_alerts\n    interval: 30s", "  - name: ds01_gpu_alerts\n    interval: 1m")
      .replace(/(alert: DS01GPUWaste\n\s+expr: .*\n\s+for: )30m/, "$11h")
      .replace(/(alert: DS01GPUMemoryHigh\n\s+expr: )(.*) > 0\.95/, "$1min($2) > 0.9");
    expect(edited).not.toBe(text);
    await writeFile(file, edited);
    const r = await runCli(["diff", dev, after, "-o", "json"]);
    const changes = (JSON.parse(r.stdout) as JsonReport).stacks[0]?.changes ?? [];
    const short = (f: FieldChange) => (f.field === "expr" ? `expr -> ${f.after?.slice(0, 4) ?? ""}...` : `${f.field} ${f.before} -> ${f.after}`);
    expect(changes.map((c) => `${c.kind} ${c.subject}: ${(c.fields ?? []).map(short).join("; ")}`)).toEqual([
      "changed rule group ds01_gpu_alerts: interval 30s -> 1m",
      "changed alert DS01GPUWaste: for 30m -> 1h",
      "changed alert DS01GPUMemoryHigh: threshold 0.95 -> 0.9; expr -> min(...",
    ]);
  });

  it("reports a cluster stack's changed config file once, not again as its ConfigMap", async () => {
    const stackFile = join(tmp, "dirs", "Pulumi.k8s.yaml");
    const text = await readFile(join(ROOT, "stacks", "Pulumi.k8s.yaml"), "utf8");
    await writeFile(stackFile, text.replace("    exporter: 30s\n", "    exporter: 15s\n"));
    const [a, b] = [join(tmp, "dirs", "k8s-a"), join(tmp, "dirs", "k8s-b")];
    expect((await runCli(["export", "--stack", "k8s", "--stacks-dir", join(ROOT, "stacks"), "--out", a, "-q"])).code).toBe(0);
    expect((await runCli(["export", "--stack-file", stackFile, "--out", b, "-q"])).code).toBe(0);
    const r = await runCli(["diff", a, b, "-o", "json"]);
    expect((JSON.parse(r.stdout) as JsonReport).stacks).toEqual([
      { stack: "k8s", changes: [{ area: "prometheus", kind: "changed", subject: "scrape job ds01-exporter", fields: [{ field: "scrape_interval", before: "30s", after: "15s" }] }] },
    ]);
  });

  it("shows a Docker image field by field, and a file no differ knows as a unified diff", async () => {
    const after = join(tmp, "dirs", "dev-images");
    await cp(dev, after, { recursive: true });
    await replaceIn(join(after, "docker/services.yml"), /image: (grafana\/grafana[^:]*):\S+/, "image: $1:99.0.0");
    await replaceIn(join(after, "grafana/provisioning/datasources/datasources.yml"), /timeInterval: \S+/, "timeInterval: 1m");
    const r = await runCli(["diff", dev, after, "-o", "json"]);
    const changes = (JSON.parse(r.stdout) as JsonReport).stacks[0]?.changes ?? [];
    expect(changes.map((c) => [c.area, c.kind, c.subject, c.fields?.map((f) => `${f.field} -> ${f.after}`)])).toEqual([
      ["services", "changed", "container gpu-monitoring-grafana", [expect.stringMatching(/^image -> grafana\/grafana.*:99\.0\.0$/)]],
      ["files", "changed", "grafana/provisioning/datasources/datasources.yml", undefined],
    ]);
    const patch = changes[1]?.patch ?? "";
    expect(patch).toMatch(/^--- a\/grafana\/provisioning\/datasources\/datasources\.yml\n\+\+\+ b\/grafana/);
    expect(patch).toMatch(/^\+\s+timeInterval: 1m$/m);
    expect(patch).toMatch(/^-\s+timeInterval: /m);
  });

  it("compares folders holding one export per stack, naming only the stacks that changed", async () => {
    const [a, b] = [join(tmp, "stacks-a"), join(tmp, "stacks-b")];
    for (const side of [a, b]) {
      await cp(dev, join(side, "dev"), { recursive: true });
      await cp(prod, join(side, "prod"), { recursive: true });
    }
    await replaceIn(join(b, "prod", "prometheus/prometheus.yml"), /scrape_interval: \S+/, "scrape_interval: 2m");
    const r = await runCli(["diff", a, b, "-o", "json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.summary).toBe("1 change in stack prod (prometheus 1)");
    expect(report.stacks.map((s) => [s.stack, s.changes.map((c) => c.subject)])).toEqual([["prod", ["global settings"]]]);
    expect((await runCli(["diff", a, b, "--stack", "dev"])).code).toBe(0);
  });

  it("exits 2 with a message on errors", async () => {
    const empty = await mkdtemp(join(tmp, "empty-"));
    const cases: [string[], string, string][] = [
      [[dev, join(tmp, "nope")], tmp, "does not exist"],
      [[empty, dev], tmp, "holds no export"],
      [[dev], tmp, "give two export directories"],
      [["--base", "no-such-ref"], repo, "--base no-such-ref is not a commit"],
      [["--base", "HEAD"], tmp, "is not in a git repository"],
      [["--base", "HEAD", dev, prod], repo, "give no directories with it"],
      [["--base", "HEAD", "--stack", "nope"], repo, "no stack nope"],
      [[dev, prod, "-o", "yaml"], tmp, "argument 'yaml' is invalid. Allowed choices are markdown, text, json"],
      [[dev, prod, "--max-bytes", "ten"], tmp, '--max-bytes "ten" is not a whole number'],
      [[dev, prod, "--no-such-flag"], tmp, "unknown option '--no-such-flag'"],
    ];
    for (const [args, cwd, message] of cases) {
      const r = await runCli(["diff", ...args], { cwd });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stdout).toBe("");
    }
  }, SLOW);

  it("exits 2 when the working tree's stack does not export", async () => {
    await edit("stacks/Pulumi.dev.yaml", "gpu-monitoring:platform: docker", "gpu-monitoring:platform: dockr");
    try {
      const r = await diffBase("dev");
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("cannot export stack dev at the working tree");
      expect(r.stderr).toContain('"dockr"');
    } finally {
      await git("checkout", "--", "stacks/Pulumi.dev.yaml");
    }
    expect((await git("worktree", "list", "--porcelain")).match(/^worktree /gm)).toHaveLength(1);
  }, SLOW);
});
