import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alertingSchema, thresholdsSchema } from "../alerts/config";
import { renderAlertDocs } from "../alerts/docs";
import type { AlertingRule } from "../alerts/model";
import { buildRuleSets } from "../alerts/render";
import { DEFAULT_MAX_BYTES } from "../cli/commands/diff";
import { renderMarkdown } from "../cli/diff/render/markdown";
import { diffStack } from "../cli/diff/stackDiff";
import { exportFiles } from "../cli/exportBundle";
import { readStackFile, stackFilePath, validateStackConfig, type RawStackConfig } from "../components/config";
import { DEFAULT_RETENTION } from "../components/config/defaults";
import { registeredServices } from "../components/services";
import { renderDashboardsDoc } from "../dashboards/docs";
import { dashboardUrl } from "../dashboards/kit/dashboard";
import { dashboardDefinitions, DEFAULT_RETENTION_SIZE_BYTES } from "../dashboards/registry";
import { defaultThresholds } from "../metrics/thresholds";

/**
 * The generated documentation: docs/alerts.md, docs/dashboards.md, the three tables in README.md
 * and the `diff` sample in docs/cli.md, all from the code. `npm run docs` writes them; `--check` only compares.
 */

const ROOT = join(__dirname, "..");
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function dashboardsTable(): string {
  const rows = dashboardDefinitions({ retentionSizeBytes: DEFAULT_RETENTION_SIZE_BYTES, thresholds: defaultThresholds() }).map(
    (d) => `| [${d.title}](docs/dashboards.md) | \`${dashboardUrl(d.uid)}\` | ${cell(d.description)} |`,
  );
  return ["| Dashboard | URL | What it answers |", "|---|---|---|", ...rows].join("\n");
}

/** The registered services: config key, image, port, scrape job, where they run, what they are. */
export function servicesTable(): string {
  const rows = registeredServices().map((d) => {
    const where = d.platforms ? d.platforms.join(", ") : "docker, kubernetes";
    const on = (["dev", "prod"] as const).filter((p) => d.enabledByDefault[p]).join(", ") || "no profile";
    return `| \`${d.name}\` | ${cell(d.summary)} | \`${d.image}\` | ${d.port.number} | ${d.scrape ? `\`${d.scrape.job}\`` : "—"} | ${where} | ${on} |`;
  });
  return ["| Service (`components.<key>`) | What it is | Default image | Port | Scrape job | Platforms | On by default in |", "|---|---|---|---|---|---|---|", ...rows].join("\n");
}

export function alertsTable(): string {
  const sets = buildRuleSets({
    thresholds: thresholdsSchema.parse(undefined),
    alerting: alertingSchema.parse(undefined),
    retentionSize: DEFAULT_RETENTION.size,
  });
  const rows = sets.flatMap((set) =>
    set.alerting
      .flatMap((g) => g.rules.filter((r): r is AlertingRule => r.kind === "alert"))
      .map((a) => {
        const thresholds = Object.entries(a.thresholds ?? {})
          .map(([k, v]) => `\`${k}\` = ${v}`)
          .join(", ");
        return `| [${a.alert}](docs/alerts.md#${a.alert.toLowerCase()}) | ${set.id} | ${a.severity} | ${cell(a.condition)}${a.for ? ` for ${a.for}` : ""} | ${thresholds || "—"} |`;
      }),
  );
  return ["| Alert | Rule set | Severity | Condition | Default threshold |", "|---|---|---|---|---|", ...rows].join("\n");
}

/**
 * `gpu-monitoring diff` output for a real change to the dev stack file (a temperature threshold,
 * the critical route's repeat interval, the exporter's scrape interval, retention), rendered by
 * the same code as the command, so the sample in docs/cli.md cannot drift from it.
 */
export function diffSample(): string {
  const raw = readStackFile(stackFilePath("dev"));
  const plain = raw.plain as Record<string, Record<string, unknown> | undefined>;
  const changed: RawStackConfig = {
    ...raw,
    plain: {
      ...raw.plain,
      thresholds: { ds01: { gpuTemperatureWarningCelsius: 88 } },
      alerting: { routing: { critical: { repeatInterval: "4h" } } },
      scrapeIntervals: { ...plain.scrapeIntervals, exporter: "15s" },
      retention: { ...plain.retention, time: "7d" },
    },
  };
  const files = (r: RawStackConfig) => new Map(exportFiles("dev", validateStackConfig(r, "Pulumi.dev.yaml")).map((f) => [f.path, f.content]));
  const markdown = renderMarkdown({ stacks: [{ stack: "dev", changes: diffStack(files(raw), files(changed)) }], notes: [] }, DEFAULT_MAX_BYTES);
  return ["````markdown", markdown.trimEnd(), "````"].join("\n");
}

/** Replaces what lies between `<!-- name:start ... -->` and `<!-- name:end -->`. */
export function fillBlock(text: string, name: string, body: string): string {
  const start = new RegExp(`(<!-- ${name}:start[^>]*-->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
  if (!start.test(text)) throw new Error(`the document has no ${name}:start/${name}:end block`);
  return text.replace(start, (_m, open: string, close: string) => `${open}${body}\n${close}`);
}

export function generatedFiles(readme: string, cliDoc: string = readFileSync(join(ROOT, "docs", "cli.md"), "utf8")): Record<string, string> {
  return {
    "docs/cli.md": fillBlock(cliDoc, "diff-sample", diffSample()),
    "docs/alerts.md": renderAlertDocs(),
    "docs/dashboards.md": renderDashboardsDoc(),
    "README.md": fillBlock(fillBlock(fillBlock(readme, "services", servicesTable()), "dashboards", dashboardsTable()), "alerts", alertsTable()),
  };
}

if (require.main === module) {
  const check = process.argv.includes("--check");
  const files = generatedFiles(readFileSync(join(ROOT, "README.md"), "utf8"));
  let stale = 0;
  for (const [path, content] of Object.entries(files)) {
    const full = join(ROOT, path);
    const current = readFileSync(full, "utf8");
    if (current === content) continue;
    stale++;
    if (check) process.stderr.write(`${path} is out of date: run npm run docs\n`);
    else writeFileSync(full, content);
  }
  process.exitCode = check && stale > 0 ? 1 : 0;
}
