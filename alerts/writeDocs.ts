import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderAlertDocs } from "./docs";

/**
 * Writes docs/alerts.md from the rule code; with --check, exits 1 if the committed file
 * differs from what the code generates.
 */
const target = join(__dirname, "..", "docs", "alerts.md");
const generated = renderAlertDocs();
if (process.argv.includes("--check")) {
  const committed = readFileSync(target, "utf8");
  if (committed !== generated) {
    process.stderr.write("docs/alerts.md is out of date: run npx tsx alerts/writeDocs.ts\n");
    process.exit(1);
  }
} else {
  writeFileSync(target, generated);
}
