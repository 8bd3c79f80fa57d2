import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { alertsTable, dashboardsTable, fillBlock, generatedFiles } from "../../docs/generate";

const ROOT = join(__dirname, "..", "..");
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

describe("generated documentation", () => {
  it("README's alert and dashboard tables, docs/alerts.md and docs/dashboards.md match the code (npm run docs)", () => {
    for (const [path, content] of Object.entries(generatedFiles(read("README.md")))) {
      expect(read(path), `${path} is out of date: run npm run docs`).toBe(content);
    }
  });

  it("lists every alert with its severity and every dashboard with its URL", () => {
    const alerts = alertsTable();
    for (const name of ["DS01GPUWaste", "GPUDoubleBitECCError", "HighCPUUtilization", "Watchdog"]) expect(alerts).toContain(`[${name}]`);
    expect(alerts).toMatch(/\| critical \|/);
    const dashboards = dashboardsTable();
    for (const uid of ["ds01-overview", "ds01-user", "nvidia-dcgm", "drm", "host", "stack-health", "hpc-slurm"]) expect(dashboards).toContain(`/d/${uid}`);
  });

  it("replaces only the named block and refuses a README without it", () => {
    const text = "a\n<!-- x:start note -->\nold\n<!-- x:end -->\nb\n";
    expect(fillBlock(text, "x", "new")).toBe("a\n<!-- x:start note -->\nnew\n<!-- x:end -->\nb\n");
    expect(() => fillBlock("no block", "x", "new")).toThrow(/x:start/);
  });
});
