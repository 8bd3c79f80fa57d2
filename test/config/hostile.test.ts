import { afterEach, describe, expect, it, vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { exposureWarnings } from "../../components/config";
import { runStack } from "../stack/harness";
import { BASE, errorOf, validate } from "./support";

describe("publishing unauthenticated services beyond loopback needs exposeUnauthenticated", () => {
  const exposing: Array<[string, Record<string, unknown>, string]> = [
    ["bindAddress 0.0.0.0", { bindAddress: "0.0.0.0" }, "bindAddress"],
    ["bindAddress on a LAN address", { bindAddress: "192.168.1.20" }, "bindAddress"],
    ["bindAddress on a public address", { bindAddress: "203.0.113.7" }, "bindAddress"],
    ["Prometheus alone on 0.0.0.0", { bindAddresses: { prometheus: "0.0.0.0" } }, "bindAddresses.prometheus"],
    ["Alertmanager alone on a LAN address", { bindAddresses: { alertmanager: "10.1.2.3" } }, "bindAddresses.alertmanager"],
    ["the exporter on 0.0.0.0", { bindAddresses: { exporter: "0.0.0.0" } }, "bindAddresses.exporter"],
    ["exposeUnauthenticated false, spelt out", { bindAddress: "0.0.0.0", exposeUnauthenticated: false }, "bindAddress"],
  ];
  for (const [name, plain, key] of exposing) {
    it(`refuses ${name}`, () => {
      const err = errorOf({ ...BASE, ...plain });
      expect(err.problems.map((p) => p.key)).toContain(key);
      expect(err.message).toContain("exposeUnauthenticated: true");
    });
  }

  it("allows loopback addresses and Grafana (which has a login) anywhere", () => {
    expect(() => validate({ ...BASE, bindAddress: "127.0.0.2" })).not.toThrow();
    expect(exposureWarnings(validate({ ...BASE, bindAddresses: { grafana: "0.0.0.0" } }))).toEqual([]);
  });

  it("with the opt-in, the config is valid and each exposed service is named in a warning", () => {
    const cfg = validate({ ...BASE, bindAddress: "0.0.0.0", exposeUnauthenticated: true });
    const warnings = exposureWarnings(cfg);
    for (const s of ["prometheus", "alertmanager", "exporter", "nodeExporter", "cadvisor"]) expect(warnings.join("\n")).toContain(`${s} is published on 0.0.0.0`);
    expect(warnings.join("\n")).not.toContain("grafana is published");
  });

  it("the opt-in must be a boolean", () => {
    expect(errorOf({ ...BASE, exposeUnauthenticated: "yes" }).problems.map((p) => p.key)).toContain("exposeUnauthenticated");
  });
});

describe("pulumi up warns about exposure", () => {
  afterEach(() => vi.restoreAllMocks());

  it("logs one pulumi warning per exposed service", async () => {
    const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue();
    const run = await runStack("dev", { plain: { bindAddress: "0.0.0.0", exposeUnauthenticated: true } });
    expect(run.error).toBeUndefined();
    const messages = warn.mock.calls.map((c) => String(c[0]));
    expect(messages.some((m) => m.includes("prometheus is published on 0.0.0.0:9090 without authentication"))).toBe(true);
    expect(messages.some((m) => m.includes("alertmanager is published on 0.0.0.0"))).toBe(true);
  });
});
