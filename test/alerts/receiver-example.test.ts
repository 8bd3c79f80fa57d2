import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { renderAlertmanagerConfig } from "../../alerts/alertmanager";
import { RECEIVER_EXAMPLE_SECRETS, RECEIVER_EXAMPLE_YAML } from "../../alerts/receiverExamples";
import { readStackFile, validateStackConfig } from "../../components/config";
import { runTool, withFiles } from "./tools";

const PROD = join(__dirname, "..", "..", "stacks", "Pulumi.prod.yaml");

describe("the receivers example (docs/alerts.md, stacks/Pulumi.prod.yaml)", () => {
  it("is a valid stack config whose alertmanager.yml amtool accepts, routing each severity to its receiver", async () => {
    const raw = readStackFile(PROD);
    const example = parse(RECEIVER_EXAMPLE_YAML) as Record<string, unknown>;
    const cfg = validateStackConfig(
      { plain: { ...raw.plain, alerting: example["gpu-monitoring:alerting"] }, secretKeys: [...raw.secretKeys, ...RECEIVER_EXAMPLE_SECRETS] },
      "receivers example",
    );
    expect(cfg.alerting.receivers.map((r) => r.type)).toEqual(["email", "slack", "webhook"]);
    const { yaml } = renderAlertmanagerConfig(cfg.alerting);
    const check = await withFiles([{ name: "alertmanager.yml", content: yaml }], (dir) => runTool("amtool", ["check-config", join(dir, "alertmanager.yml")]));
    expect(check.code, check.output).toBe(0);
    expect(check.output).toContain("SUCCESS");
    const route = async (severity: string): Promise<string> => {
      const r = await withFiles([{ name: "alertmanager.yml", content: yaml }], (dir) =>
        runTool("amtool", ["config", "routes", "test", "--config.file", join(dir, "alertmanager.yml"), `severity=${severity}`, "alertname=X"]),
      );
      expect(r.code, r.output).toBe(0);
      return r.output.split("\n").filter((l) => l.trim() && !l.startsWith("Warning:"))[0]?.trim() ?? "";
    };
    expect(await route("critical")).toBe("oncall-email");
    expect(await route("warning")).toBe("team-slack");
    expect(await route("info")).toBe("ticket-webhook");
  });

  it("is without its secrets a config error naming each one", () => {
    const raw = readStackFile(PROD);
    const example = parse(RECEIVER_EXAMPLE_YAML) as Record<string, unknown>;
    expect(() => validateStackConfig({ plain: { ...raw.plain, alerting: example["gpu-monitoring:alerting"] }, secretKeys: raw.secretKeys })).toThrow(
      /alerting\.receivers\.0\.authPasswordSecret: names a secret that is not set[\s\S]*receivers\.1\.webhookUrlSecret[\s\S]*receivers\.2\.bearerTokenSecret/,
    );
  });

  it("is in stacks/Pulumi.prod.yaml, commented out, byte for byte", () => {
    const text = readFileSync(PROD, "utf8");
    const block = /# receivers-example:start\n([\s\S]*?)\n\s*# receivers-example:end/.exec(text)?.[1] ?? "";
    const uncommented = block
      .split("\n")
      .map((l) => l.replace(/^ {2}# ?/, "").replace(/^ {2}#$/, ""))
      .join("\n");
    expect(`${uncommented}\n`).toBe(RECEIVER_EXAMPLE_YAML);
  });
});
