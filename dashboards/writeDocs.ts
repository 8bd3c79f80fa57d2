import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderDashboardsDoc } from "./docs";

/**
 * Writes docs/dashboards.md from the dashboard code; with --check, exits 1 if the committed file
 * differs instead of writing it.
 */
const target = join(__dirname, "..", "docs", "dashboards.md");
const doc = renderDashboardsDoc();
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    // A missing file differs like any other.
  }
  if (current !== doc) {
    console.error(`${target} is out of date: run npx tsx dashboards/writeDocs.ts`);
    process.exit(1);
  }
} else {
  writeFileSync(target, doc);
  console.log(`wrote ${target}`);
}
