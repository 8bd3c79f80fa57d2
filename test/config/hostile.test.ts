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

describe("messages never show secret values or credentials", () => {
  const SECRET = "s3cr3t-VALUE-never-shown";
  const k8s = (remoteWrite: unknown[]): Record<string, unknown> => ({ ...BASE, platform: "kubernetes", exporter: { simulation: true }, kubernetes: { prometheus: { remoteWrite } } });
  const receiver = (extra: Record<string, unknown>) => ({ ...BASE, alerting: { receivers: [{ name: "mail", type: "email", to: ["ops@example.org"], from: "am@example.org", smarthost: "smtp.example.org:587", ...extra }] } });
  const cases: Array<[string, Record<string, unknown>, string, RegExp?]> = [
    ["a plain-text slackWebhook (unknown key)", { ...BASE, slackWebhook: `https://hooks.slack.com/services/T0/B0/${SECRET}` }, "slackWebhook"],
    ["a plain-text apiToken (unknown key)", { ...BASE, apiToken: SECRET }, "apiToken"],
    ["a password under an unknown nested key", { ...BASE, exporter: { simulation: true, password: SECRET } }, "exporter.password"],
    ["a webhook URL under an innocent unknown key", { ...BASE, notify: `https://hooks.slack.com/services/T0/B0/${SECRET}` }, "notify"],
    ["a URL with credentials under an unknown key", { ...BASE, backend: `https://admin:${SECRET}@db.example.org/` }, "backend"],
    ["a token query under an unknown key", { ...BASE, backend: `https://db.example.org/?token=${SECRET}` }, "backend"],
    ["drmUrl with user:password@", { ...BASE, exporter: { drmUrl: `http://drm:${SECRET}@drm.example.org:8080` } }, "exporter.drmUrl", /drmApiKey/],
    ["drmUrl with a token query", { ...BASE, exporter: { drmUrl: `http://drm.example.org:8080/?token=${SECRET}` } }, "exporter.drmUrl", /drmApiKey/],
    ["drmUrl with an api_key query", { ...BASE, exporter: { drmUrl: `http://drm.example.org:8080/x?a=1&api_key=${SECRET}` } }, "exporter.drmUrl", /drmApiKey/],
    ["grafanaRootUrl with user:password@", { ...BASE, grafanaRootUrl: `https://admin:${SECRET}@grafana.example.org/` }, "grafanaRootUrl"],
    ["remoteWrite.url with user:password@", k8s([{ url: `https://tenant:${SECRET}@mimir.example.org/api/v1/push` }]), "kubernetes.prometheus.remoteWrite.0.url", /bearerTokenSecretKey/],
    ["remoteWrite.url with an access_token query", k8s([{ url: `https://mimir.example.org/api/v1/push?access_token=${SECRET}` }]), "kubernetes.prometheus.remoteWrite.0.url", /passwordSecretKey/],
    ["a password typed into passwordSecretKey", k8s([{ url: "https://mimir.example.org/push", basicAuth: { username: "u", passwordSecretKey: `${SECRET}!` } }]), "kubernetes.prometheus.remoteWrite.0.basicAuth.passwordSecretKey"],
    ["a password typed into passwordSecretKey that is a valid name", k8s([{ url: "https://mimir.example.org/push", basicAuth: { username: "u", passwordSecretKey: SECRET } }]), "kubernetes.prometheus.remoteWrite.0.basicAuth.passwordSecretKey"],
    ["a password with spaces typed into authPasswordSecret", receiver({ authUsername: "am", authPasswordSecret: `my ${SECRET}` }), "alerting.receivers.0.authPasswordSecret"],
    ["a password typed into authPasswordSecret that is a valid name", receiver({ authUsername: "am", authPasswordSecret: SECRET }), "alerting.receivers.0.authPasswordSecret"],
    ["a secret-looking key of the wrong type", { ...BASE, grafanaAdminUser: { token: SECRET } }, "grafanaAdminUser"],
  ];
  for (const [name, plain, key, pointer] of cases) {
    it(name, () => {
      const err = errorOf(plain);
      expect(err.problems.map((p) => p.key)).toContain(key);
      expect(err.message).not.toContain(SECRET);
      expect(err.message).not.toContain(SECRET.slice(0, 12));
      if (pointer) expect(err.message).toMatch(pointer);
    });
  }
});
