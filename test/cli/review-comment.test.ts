import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./harness";

/**
 * The pull-request workflow's comment: built from what each preview job left (a real `diff`
 * output here), created once and then updated in place. GitHub's API is the one thing faked.
 */

interface Comment {
  id: number;
  body: string;
}
interface FakeGithub {
  calls: string[];
  comments: Comment[];
  paginate: (fn: unknown, params: { issue_number: number }) => Promise<Comment[]>;
  rest: { issues: Record<"listComments" | "createComment" | "updateComment", (p: { comment_id?: number; body?: string }) => Promise<void>> };
}
interface ReviewModule {
  MARKER: string;
  MAX_BODY: number;
  reviewCommentBody: (stacks: { stack: string; diff: string; preview: string; outcome: string }[], sha?: string) => string;
  upsertReviewComment: (args: { github: FakeGithub; context: unknown; dir: string }) => Promise<{ updated: boolean; stacks: string[] }>;
}

const ROOT = resolve(__dirname, "..", "..");
const review = createRequire(__filename)(join(ROOT, ".github", "scripts", "review-comment.cjs")) as ReviewModule;

function fakeGithub(existing: Comment[]): FakeGithub {
  const gh: FakeGithub = {
    calls: [],
    comments: [...existing],
    paginate: async () => {
      gh.calls.push("list");
      return gh.comments;
    },
    rest: {
      issues: {
        listComments: async () => undefined,
        createComment: async (p) => {
          gh.calls.push("create");
          gh.comments.push({ id: gh.comments.length + 100, body: p.body ?? "" });
        },
        updateComment: async (p) => {
          gh.calls.push(`update ${p.comment_id}`);
          const c = gh.comments.find((x) => x.id === p.comment_id);
          if (c) c.body = p.body ?? "";
        },
      },
    },
  };
  return gh;
}

const context = { repo: { owner: "o", repo: "r" }, issue: { number: 7 }, payload: { pull_request: { head: { sha: "0123456789abcdef" } } } };

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gm-review-"));
  const [a, b] = [join(tmp, "a"), join(tmp, "b")];
  await runCli(["export", "--stack", "dev", "--stacks-dir", join(ROOT, "stacks"), "--out", a, "-q"]);
  await runCli(["export", "--stack", "prod", "--stacks-dir", join(ROOT, "stacks"), "--out", b, "-q"]);
  const diff = await runCli(["diff", a, b, "--stack", "prod", "--max-bytes", "20000"]);
  expect(diff.code).toBe(1);
  const dir = join(tmp, "artifacts");
  await mkdir(join(dir, "review-prod"), { recursive: true });
  await writeFile(join(dir, "review-prod", "diff.md"), diff.stdout);
  await writeFile(join(dir, "review-prod", "preview.txt"), "Previewing update (prod)\n ~ docker:index:Container prometheus update\nResources: 1 to update\n");
  await writeFile(join(dir, "review-prod", "outcome"), "success\n");
  await mkdir(join(dir, "review-dev"), { recursive: true });
  await writeFile(join(dir, "review-dev", "diff.md"), "");
  await writeFile(join(dir, "review-dev", "outcome"), "failure\n");
}, 60_000);
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("the pull request's review comment", () => {
  it("is created once, then updated in place on the next push; other comments are left alone", async () => {
    const gh = fakeGithub([{ id: 1, body: "LGTM" }]);
    const dir = join(tmp, "artifacts");
    expect(await review.upsertReviewComment({ github: gh, context, dir })).toEqual({ updated: false, stacks: ["dev", "prod"] });
    expect(await review.upsertReviewComment({ github: gh, context, dir })).toEqual({ updated: true, stacks: ["dev", "prod"] });
    expect(gh.calls).toEqual(["list", "create", "list", "update 101"]);
    expect(gh.comments.map((c) => c.id)).toEqual([1, 101]);
    const body = gh.comments[1]?.body ?? "";
    expect(body.startsWith(review.MARKER)).toBe(true);
    expect(body).toContain("(at 0123456)");
    // Each stack: its diff (or that there is none), then its preview beside it.
    expect(body).toMatch(/## Stack `dev`\n\n\*\*gpu-monitoring diff\*\*: no changes to alerts, dashboards or configs in stack dev\n\n<details><summary>pulumi preview: failure<\/summary>\n\n```\n\(no output\)\n```/);
    expect(body).toMatch(/## Stack `prod`\n\n\*\*gpu-monitoring diff\*\*: \d+ changes in stack prod/);
    expect(body).toContain("retention time: `2d` → `7d`");
    expect(body).toContain("<details><summary>pulumi preview: success</summary>\n\n```\nPreviewing update (prod)");
  });

  it("stays under GitHub's comment limit, saying what it left out", () => {
    const big = { diff: "x".repeat(30_000), preview: "", outcome: "success" };
    const body = review.reviewCommentBody(["a", "b", "c"].map((stack) => ({ stack, ...big })));
    expect(body.length).toBeLessThanOrEqual(review.MAX_BODY);
    expect(body).toContain("**Truncated**: 1 of 3 stacks not shown");
  });
});
