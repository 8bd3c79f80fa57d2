import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { buildDashboards } from "../../dashboards";

const ROOT = join(__dirname, "..", "..");

/**
 * Type-checks the generated JSON against the Foundation SDK's Dashboard type with the TypeScript
 * compiler: each file becomes an object literal assigned to that type, so a wrong field type, an
 * unknown enum value or a misspelt property (excess-property check) is a compile error. JSON holds
 * an enum's value, not the enum, so string enums are compared as their string values (and the
 * SDK's marker methods, which JSON cannot hold, are left out).
 */
function typeErrors(files: readonly { fileName: string; json: string }[], extra = ""): string[] {
  const virtualPath = join(ROOT, "test", "dashboards", "__generated_dashboards__.ts");
  const source = [
    'import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";',
    'import type * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";',
    "type AsJson<T> = T extends string ? `${T}` : T extends readonly (infer E)[] ? AsJson<E>[] : T extends object ? { [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: AsJson<T[K]> } : T;",
    // The SDK types targets as an opaque query variant; ours are all Prometheus queries.
    'type PanelJson = Omit<AsJson<dashboard.Panel>, "targets"> & { targets?: AsJson<prometheus.Dataquery>[] };',
    'type RowJson = Omit<AsJson<dashboard.RowPanel>, "panels"> & { panels: PanelJson[] };',
    'type DashboardJson = Omit<AsJson<dashboard.Dashboard>, "panels"> & { panels?: (PanelJson | RowJson)[] };',
    ...files.map((f, i) => `export const d${i}: DashboardJson = ${f.json};`),
    extra,
  ].join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const baseGet = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) =>
    name === virtualPath ? ts.createSourceFile(name, source, lang) : baseGet(name, lang, onError, create);
  const baseExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === virtualPath || baseExists(name);
  const baseRead = host.readFile.bind(host);
  host.readFile = (name) => (name === virtualPath ? source : baseRead(name));
  const program = ts.createProgram([virtualPath], options, host);
  const file = program.getSourceFile(virtualPath);
  return ts
    .getPreEmitDiagnostics(program, file)
    .map((d) => `${d.file?.fileName === virtualPath ? "" : d.file?.fileName ?? ""} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

describe("generated JSON against the Foundation SDK's Dashboard type", () => {
  it("every dashboard type-checks", () => {
    expect(typeErrors(buildDashboards())).toEqual([]);
  }, 120_000);

  it("the check rejects a wrong field type, an unknown enum value and a misspelt property", () => {
    const json = buildDashboards()[0]?.json ?? "";
    const mutations: [string, string][] = [
      ['"schemaVersion": 39', '"schemaVersion": "39"'],
      ['"mode": "absolute"', '"mode": "absolut"'],
      ['"collapsed": false', '"colapsed": false'],
    ];
    const broken = mutations.map(([from, to], i) => {
      expect(json).toContain(from);
      return { fileName: `broken${i}.json`, json: json.replace(from, to) };
    });
    const errors = typeErrors(broken);
    expect(errors).toHaveLength(3);
    expect(errors.join("\n")).toMatch(/'string' is not assignable to type 'number'/);
    expect(errors.join("\n")).toMatch(/"absolut"/);
    expect(errors.join("\n")).toMatch(/colapsed/);
  }, 120_000);
});
