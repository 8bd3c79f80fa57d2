import { stringify } from "yaml";

/**
 * YAML for the services' config files: same input, same bytes. YAML 1.1 rules decide quoting,
 * because Prometheus, Alertmanager and Grafana parse with YAML 1.1 libraries, where a bare `on`,
 * `yes` or `0755` is a boolean or an octal number rather than the string that was meant.
 * No anchors or aliases (a shared object is written out in full), no line folding.
 */
export function toYaml(value: unknown, header?: string): string {
  const body = stringify(value, { version: "1.1", aliasDuplicateObjects: false, lineWidth: 0, indentSeq: true });
  return header ? `${header.split("\n").map((l) => `# ${l}`.trimEnd()).join("\n")}\n${body}` : body;
}
