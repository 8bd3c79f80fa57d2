import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ANNOTATION_PANEL_ID, dashboardQueries } from "../../dashboards";
import { renderDashboardsDoc } from "../../dashboards/docs";
import { parsedDashboards } from "./walk";

describe("docs/dashboards.md", () => {
  const generated = renderDashboardsDoc();

  it("is exactly what the dashboard code generates (npx tsx dashboards/writeDocs.ts)", () => {
    const committed = readFileSync(join(__dirname, "..", "..", "docs", "dashboards.md"), "utf8");
    expect(committed).toBe(generated);
  });

  it("names every dashboard's URL and every panel", () => {
    for (const { model } of parsedDashboards()) {
      expect(generated).toContain(`\`/d/${model.uid}\``);
      expect(generated).toContain(`## ${model.title}`);
    }
    for (const q of dashboardQueries()) {
      if (q.panelId === ANNOTATION_PANEL_ID) expect(generated).toContain(`Annotation *${q.panelTitle.replace("Annotation: ", "")}*`);
      else expect(generated).toContain(`| ${q.panelTitle} |`);
    }
  });
});
