import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import type { DashboardVariable } from "../../../dashboards";
import type { PanelQuery } from "../checks/dashboards";
import { REPO_ROOT } from "../../../cli/local/services";

/**
 * DS01's own monitoring configuration (recording rules, alerts, dashboards), read unmodified
 * from the shared reference folder that sits beside the repository (`../shared` relative to the
 * repository root), or from DS01_REFERENCE_DIR, a folder holding `reference/ds01-infra/monitoring`.
 */
const CANDIDATES = [process.env.DS01_REFERENCE_DIR, resolve(REPO_ROOT, "..", "shared")].filter((d): d is string => Boolean(d));
const DS01_MONITORING = join("reference", "ds01-infra", "monitoring");

/** Where DS01's monitoring folder is, or undefined when no candidate holds it. */
export function findDs01MonitoringDir(): string | undefined {
  return CANDIDATES.map((shared) => join(shared, DS01_MONITORING)).find((dir) => existsSync(join(dir, "prometheus", "rules")));
}

/** Why the drop-in check cannot run here, for the skip message and the CI failure. */
export const DS01_REFERENCE_MISSING =
  `DS01's monitoring reference was not found: looked for ${DS01_MONITORING} under ${CANDIDATES.join(" and ")}. ` +
  "The DS01 drop-in check needs the shared reference folder checked out beside the repository (../shared) or DS01_REFERENCE_DIR.";

export function ds01MonitoringDir(): string {
  const dir = findDs01MonitoringDir();
  if (!dir) throw new Error(DS01_REFERENCE_MISSING);
  return dir;
}

export interface Ds01RecordingRule {
  readonly group: string;
  readonly interval: string;
  readonly record: string;
  readonly expr: string;
}

export interface Ds01RuleFiles {
  /** Absolute paths of the rule files, handed to Prometheus as they are. */
  readonly files: readonly string[];
  readonly recording: readonly Ds01RecordingRule[];
  readonly alerting: number;
  readonly groups: number;
}

interface RuleFileShape {
  groups: Array<{ name: string; interval?: string; rules: Array<{ record?: string; alert?: string; expr: string }> }>;
}

export function ds01RuleFiles(dir = ds01MonitoringDir()): Ds01RuleFiles {
  const rulesDir = join(dir, "prometheus", "rules");
  const files = readdirSync(rulesDir)
    .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
    .sort()
    .map((f) => join(rulesDir, f));
  const recording: Ds01RecordingRule[] = [];
  let alerting = 0;
  let groups = 0;
  for (const file of files) {
    const doc = parse(readFileSync(file, "utf8")) as RuleFileShape;
    for (const g of doc.groups) {
      groups++;
      for (const r of g.rules) {
        if (r.record) recording.push({ group: g.name, interval: g.interval ?? "", record: r.record, expr: r.expr });
        else if (r.alert) alerting++;
      }
    }
  }
  return { files, recording, alerting, groups };
}

export interface Ds01Dashboard {
  readonly uid: string;
  readonly title: string;
  /** The dashboard's default time range, e.g. "30d" for now-30d. */
  readonly range: string;
  readonly queries: readonly PanelQuery[];
  readonly variables: readonly DashboardVariable[];
}

interface GrafanaTarget {
  expr?: unknown;
  hide?: unknown;
  refId?: unknown;
}
interface GrafanaPanel {
  title?: unknown;
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
}
interface GrafanaDashboard {
  uid: string;
  title: string;
  time?: { from?: string };
  panels?: GrafanaPanel[];
  templating?: { list?: Array<{ name: string; type: string; query?: unknown; multi?: boolean; includeAll?: boolean; allValue?: string | null }> };
}

/** Every panel query (rows' nested panels included) of DS01's dashboards, with their query variables. */
export function ds01Dashboards(dir = ds01MonitoringDir()): Ds01Dashboard[] {
  const dashDir = join(dir, "grafana", "provisioning", "dashboards", "dashboards");
  return readdirSync(dashDir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const d = JSON.parse(readFileSync(join(dashDir, f), "utf8")) as GrafanaDashboard;
      const queries: PanelQuery[] = [];
      const visit = (panels: readonly GrafanaPanel[] | undefined): void => {
        for (const p of panels ?? []) {
          for (const t of p.targets ?? []) {
            if (typeof t.expr === "string" && t.expr.trim() !== "" && t.hide !== true) {
              queries.push({ dashboardUid: d.uid, panelTitle: String(p.title ?? ""), expr: t.expr, expectData: true });
            }
          }
          visit(p.panels);
        }
      };
      visit(d.panels);
      const variables: DashboardVariable[] = (d.templating?.list ?? [])
        .filter((v) => v.type === "query")
        .map((v) => {
          const raw = typeof v.query === "string" ? v.query : String((v.query as { query?: unknown } | undefined)?.query ?? "");
          const m = /^label_values\((.+),\s*(\w+)\)$/.exec(raw.trim());
          if (!m) throw new Error(`${f}: variable ${v.name} is not a label_values() query: ${raw}`);
          return {
            name: v.name,
            query: raw,
            expr: m[1]!,
            label: m[2]!,
            multi: v.multi === true,
            includeAll: v.includeAll === true,
            ...(v.allValue ? { allValue: v.allValue } : {}),
          };
        });
      const range = /^now-(\d+[smhdwy])$/.exec(d.time?.from ?? "")?.[1] ?? "1h";
      return { uid: d.uid, title: d.title, range, queries, variables };
    });
}
