import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { alertingSchema, thresholdsSchema } from "../../alerts/config";
import { renderAlertDocs } from "../../alerts/docs";
import { listAlertRules } from "../../alerts/render";

describe("docs/alerts.md", () => {
  const committed = readFileSync(join(__dirname, "..", "..", "docs", "alerts.md"), "utf8");

  it("is exactly what the rule code generates (run npx tsx alerts/writeDocs.ts after changing a rule)", () => {
    expect(committed).toBe(renderAlertDocs());
  });

  it("lists every alert with its severity and has the section its runbook_url points at", () => {
    const rules = listAlertRules({ thresholds: thresholdsSchema.parse(undefined), alerting: alertingSchema.parse(undefined), retentionSize: "20GB" });
    for (const { rule } of rules) {
      expect(committed, rule.alert).toContain(`| [${rule.alert}](#${rule.alert.toLowerCase()}) | ${rule.severity} |`);
      expect(committed, rule.alert).toContain(`\n### ${rule.alert}\n`);
    }
  });
});
