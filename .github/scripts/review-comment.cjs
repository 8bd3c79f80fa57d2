// Builds the pull request's review comment from what each stack's preview job left (diff.md,
// preview.txt, outcome) and creates it, or updates the one found by its hidden marker, so a pull
// request has one such comment however often it is pushed. Run by actions/github-script.
"use strict";
const { readdirSync, readFileSync, existsSync } = require("node:fs");
const { join } = require("node:path");

const MARKER = "<!-- gpu-monitoring-review -->";
/** GitHub refuses comment bodies over 65,536 characters. */
const MAX_BODY = 65000;
/** The tail of each stack's preview kept in the comment; the summary is at its end. */
const MAX_PREVIEW = 12000;

function read(path) {
  return existsSync(path) ? readFileSync(path, "utf8").trim() : "";
}

/** One entry per stack from the downloaded artifacts: <dir>/review-<stack>/{diff.md,preview.txt,outcome}. */
function readStacks(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith("review-"))
    .map((e) => ({
      stack: e.name.slice("review-".length),
      diff: read(join(dir, e.name, "diff.md")),
      preview: read(join(dir, e.name, "preview.txt")),
      outcome: read(join(dir, e.name, "outcome")) || "unknown",
    }))
    .sort((a, b) => (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
}

function fenced(text) {
  const longest = Math.max(2, ...(text.match(/`{3,}/g) || []).map((m) => m.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}\n${text}\n${fence}`;
}

function stackSection(s) {
  const diff = s.diff || `**gpu-monitoring diff**: no changes to alerts, dashboards or configs in stack ${s.stack}`;
  const cut = s.preview.length > MAX_PREVIEW;
  const preview = cut ? `(first ${s.preview.length - MAX_PREVIEW} characters cut)\n${s.preview.slice(-MAX_PREVIEW)}` : s.preview || "(no output)";
  return [`## Stack \`${s.stack}\``, "", diff, "", `<details><summary>pulumi preview: ${s.outcome}</summary>`, "", fenced(preview), "", "</details>"].join("\n");
}

/** The whole comment: marker first, one section per stack, cut to GitHub's limit. */
function reviewCommentBody(stacks, sha) {
  const head = `${MARKER}\n# What this pull request changes${sha ? ` (at ${sha.slice(0, 7)})` : ""}\n`;
  let body = head;
  for (const [i, s] of stacks.entries()) {
    const section = `\n${stackSection(s)}\n`;
    if (body.length + section.length > MAX_BODY) {
      return `${body}\n> **Truncated**: ${stacks.length - i} of ${stacks.length} stacks not shown (comment size limit); see the preview jobs' logs.\n`;
    }
    body += section;
  }
  return body;
}

/** Creates the comment, or updates the one that carries the marker. */
async function upsertReviewComment({ github, context, dir }) {
  const stacks = readStacks(dir);
  const body = reviewCommentBody(stacks, context.payload.pull_request && context.payload.pull_request.head.sha);
  const where = { owner: context.repo.owner, repo: context.repo.repo };
  const issue_number = context.issue.number;
  const comments = await github.paginate(github.rest.issues.listComments, { ...where, issue_number, per_page: 100 });
  const mine = comments.find((c) => typeof c.body === "string" && c.body.startsWith(MARKER));
  if (mine) await github.rest.issues.updateComment({ ...where, comment_id: mine.id, body });
  else await github.rest.issues.createComment({ ...where, issue_number, body });
  return { updated: Boolean(mine), stacks: stacks.map((s) => s.stack) };
}

module.exports = { MARKER, MAX_BODY, readStacks, reviewCommentBody, upsertReviewComment };
