import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadStackConfigFile, stackFilePath, validateStackConfig, type StackConfig } from "../../components/config";
import {
  BUNDLE_PATHS,
  extraScrapeJobs,
  loopbackAddressing,
  renderBundle,
  renderPrometheusConfig,
  toYaml,
  type BundleFile,
  type ScrapeConfig,
} from "../../components/render";

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "gm-render-"));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function writeBundle(name: string, files: readonly BundleFile[]): string {
  const dir = path.join(root, name);
  for (const f of files) {
    const file = path.join(dir, f.path);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, f.content);
  }
  return dir;
}

/** promtool check config on a written bundle (it also checks every rule file it references). */
function promtoolCheck(dir: string): string {
  return execFileSync("promtool", ["check", "config", path.join(dir, BUNDLE_PATHS.prometheusConfig)], { encoding: "utf8", timeout: 30_000 });
}

function dev(plain: Record<string, unknown> = {}, secretKeys = ["grafanaAdminPassword"]): StackConfig {
  return validateStackConfig({ plain: { profile: "dev", exporter: { simulation: true }, ...plain }, secretKeys });
}

const VARIANTS: Record<string, () => StackConfig> = {
  dev: () => loadStackConfigFile(stackFilePath("dev")),
  prod: () => loadStackConfigFile(stackFilePath("prod")),
  "prometheus only": () =>
    dev({ components: { alertmanager: false, grafana: false, nodeExporter: false, cadvisor: false, exporter: false } }, []),
  "host-run exporter": () => dev({ exporter: { run: "host", simulation: false, hostTarget: "172.17.0.1:9101" } }),
  "fast intervals": () => dev({ scrapeIntervals: { default: "1s", prometheus: "2s", exporter: "5s" }, evaluationInterval: "1s" }),
  "extra targets and file_sd": () =>
    dev({
      extraScrapeTargets: [
        { job: "gpu-node-2", targets: ["10.0.0.2:9100", "10.0.0.2:9400"], labels: { rack: "r1" } },
        { job: "drm", targets: ["drm.internal:8443"], scheme: "https", metricsPath: "/api/metrics", scrapeInterval: "1m" },
      ],
      fileSd: { hostDir: "/srv/file_sd", jobs: [{ job: "gpu-hosts", files: ["gpu-hosts/*.json"] }] },
    }),
};

describe("prometheus.yml passes promtool check config", () => {
  for (const [name, make] of Object.entries(VARIANTS)) {
    it(name, () => {
      const cfg = make();
      const dir = writeBundle(name.replace(/\W+/g, "-"), renderBundle(cfg));
      if (cfg.fileSd.jobs.length > 0) {
        // A file the glob matches, so promtool checks the discovery file too.
        fs.mkdirSync(path.join(dir, "prometheus", "file_sd", "gpu-hosts"), { recursive: true });
        fs.writeFileSync(path.join(dir, "prometheus", "file_sd", "gpu-hosts", "a.json"), JSON.stringify([{ targets: ["10.0.0.3:9100"], labels: { rack: "r2" } }]));
      }
      const out = promtoolCheck(dir);
      expect(out).toContain("SUCCESS");
      const doc = parseYaml(fs.readFileSync(path.join(dir, BUNDLE_PATHS.prometheusConfig), "utf8")) as { scrape_configs: ScrapeConfig[]; rule_files?: string[] };
      const jobs = doc.scrape_configs.map((j) => j.job_name);
      expect(new Set(jobs).size).toBe(jobs.length);
      for (const j of doc.scrape_configs) {
        // Every referenced rule file was written and checked.
        expect(j.scrape_timeout && j.scrape_interval).toBeTruthy();
      }
      for (const rf of doc.rule_files ?? []) expect(fs.existsSync(path.join(dir, "prometheus", rf))).toBe(true);
    });
  }

  it("with the loopback addressing the end-to-end suite uses", () => {
    const cfg = dev({ ports: { prometheus: 19090, exporter: 19101 }, exporter: { simulation: true, simulatedDcgmPort: 19400 } });
    const files = renderBundle(cfg, { addressing: loopbackAddressing(cfg) });
    const dir = writeBundle("loopback", files);
    expect(promtoolCheck(dir)).toContain("SUCCESS");
    const text = files.find((f) => f.path === BUNDLE_PATHS.prometheusConfig)!.content;
    expect(text).toContain("127.0.0.1:19090");
    expect(text).toContain("127.0.0.1:19400");
    expect(text).not.toContain("gpu-monitoring-");
  });

  it("with a platform's own discovery jobs in place of static targets", () => {
    const cfg = dev({ extraScrapeTargets: [{ job: "legacy", targets: ["legacy:9100"] }] });
    // DNS discovery stands in for kubernetes_sd here: Debian's promtool is built without the latter.
    const k8sJob: ScrapeConfig = {
      job_name: "node-exporter",
      scrape_interval: "15s",
      dns_sd_configs: [{ names: ["node-exporter.monitoring.svc"], type: "A", port: 9100 }],
      relabel_configs: [
        { source_labels: ["__meta_dns_name"], regex: "node-exporter.*", action: "keep" },
        { source_labels: ["__address__"], target_label: "instance", action: "replace" },
      ],
    };
    const files = renderBundle(cfg, {
      scrapeJobs: [k8sJob, ...extraScrapeJobs(cfg)],
      prometheus: { alertmanagerTargets: ["alertmanager.monitoring.svc:9093"], externalLabels: { replica: "a" }, extra: { remote_write: [{ url: "http://mimir:9009/api/v1/push" }] } },
    });
    const dir = writeBundle("k8s", files);
    expect(promtoolCheck(dir)).toContain("SUCCESS");
    const doc = parseYaml(files.find((f) => f.path === BUNDLE_PATHS.prometheusConfig)!.content) as Record<string, unknown>;
    expect((doc["scrape_configs"] as ScrapeConfig[]).map((j) => j.job_name)).toEqual(["node-exporter", "legacy"]);
    expect(doc["remote_write"]).toEqual([{ url: "http://mimir:9009/api/v1/push" }]);
    expect((doc["global"] as { external_labels: Record<string, string> }).external_labels["replica"]).toBe("a");
  });
});

describe("the bundle", () => {
  it("is laid out like DS01's monitoring folder, with rules and dashboards", () => {
    const paths = renderBundle(VARIANTS["dev"]!()).map((f) => f.path);
    expect(paths).toContain("prometheus/prometheus.yml");
    expect(paths).toContain("alertmanager/alertmanager.yml");
    expect(paths).toContain("grafana/provisioning/datasources/datasources.yml");
    expect(paths).toContain("grafana/provisioning/dashboards/default.yml");
    expect(paths.some((p) => /^prometheus\/rules\/[\w.-]+\.yml$/.test(p))).toBe(true);
    expect(paths.some((p) => /^grafana\/provisioning\/dashboards\/dashboards\/[\w.-]+\.json$/.test(p))).toBe(true);
    expect([...paths].sort()).toEqual(paths);
  });

  it("holds only the enabled components' files", () => {
    const paths = renderBundle(VARIANTS["prometheus only"]!()).map((f) => f.path);
    expect(paths.every((p) => p.startsWith("prometheus/"))).toBe(true);
  });

  it("is byte-identical across renders", () => {
    expect(renderBundle(VARIANTS["prod"]!())).toEqual(renderBundle(VARIANTS["prod"]!()));
  });

  it("provisions the Prometheus and Alertmanager datasources with fixed uids", () => {
    const ds = renderBundle(VARIANTS["dev"]!()).find((f) => f.path === BUNDLE_PATHS.grafanaDatasources)!;
    const doc = parseYaml(ds.content) as { datasources: { uid: string; type: string; url: string; isDefault: boolean }[] };
    expect(doc.datasources.map((d) => [d.uid, d.type])).toEqual([
      ["prometheus", "prometheus"],
      ["alertmanager", "alertmanager"],
    ]);
    expect(doc.datasources[0]!.url).toBe("http://gpu-monitoring-prometheus:9090");
    expect(doc.datasources[0]!.isDefault).toBe(true);
  });

  it("has an alertmanager.yml that amtool accepts", () => {
    const dir = writeBundle("am", renderBundle(VARIANTS["dev"]!()));
    const out = execFileSync("amtool", ["check-config", path.join(dir, BUNDLE_PATHS.alertmanagerConfig)], { encoding: "utf8", timeout: 30_000 });
    expect(out).toContain("SUCCESS");
  });

  it("scrapes the simulated DCGM endpoint as dcgm-exporter when the real one is off, and the real one when on", () => {
    const devText = renderBundle(VARIANTS["dev"]!()).find((f) => f.path === BUNDLE_PATHS.prometheusConfig)!.content;
    const prodText = renderBundle(VARIANTS["prod"]!()).find((f) => f.path === BUNDLE_PATHS.prometheusConfig)!.content;
    const dcgmTarget = (text: string): string[] =>
      (parseYaml(text) as { scrape_configs: ScrapeConfig[] }).scrape_configs.find((j) => j.job_name === "dcgm-exporter")!.static_configs![0]!.targets as string[];
    expect(dcgmTarget(devText)).toEqual(["gpu-monitoring-exporter:9400"]);
    expect(dcgmTarget(prodText)).toEqual(["gpu-monitoring-dcgm-exporter:9400"]);
  });
});

describe("YAML output", () => {
  it("quotes strings YAML 1.1 would read as booleans or numbers", () => {
    const text = toYaml({ a: "on", b: "yes", c: "0755", d: "off", e: "12:30", f: "plain" });
    expect(text).toContain('a: "on"');
    expect(text).toContain('c: "0755"');
    expect(text).toContain('e: "12:30"');
    expect(text).toContain("f: plain");
    expect(parseYaml(text, { version: "1.1" })).toEqual({ a: "on", b: "yes", c: "0755", d: "off", e: "12:30", f: "plain" });
  });

  it("writes shared objects out in full, without anchors or aliases", () => {
    const labels = { rack: "r1" };
    const text = toYaml({ x: { labels }, y: { labels } });
    expect(text).not.toMatch(/[&*]\w/);
    expect(parseYaml(text)).toEqual({ x: { labels }, y: { labels } });
  });

  it("keeps external labels that look like booleans as strings in prometheus.yml", () => {
    const cfg = dev({ externalLabels: { gpu: "yes", mode: "on" } });
    const text = renderPrometheusConfig(cfg, []);
    expect(text).toContain('gpu: "yes"');
    expect(text).toContain('mode: "on"');
  });
});
