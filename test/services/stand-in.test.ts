import { describe, expect, it } from "vitest";
import { validateStackConfig } from "../../components/config";
import { kubernetesScrapeJobs } from "../../components/platforms/kubernetes";
import { dockerScrapeJobs } from "../../components/render";

/**
 * Without the DCGM exporter, the simulating exporter's DCGM endpoint serves the `dcgm-exporter` job
 * (the DCGM descriptor's stand-in): on Docker by name and port, on a cluster by discovering the
 * exporter's pods on the `dcgm-sim` port, with the DCGM job's own interval either way.
 */
describe("a job served by a stand-in", () => {
  const plain = {
    profile: "dev",
    components: { dcgmExporter: false, grafana: false },
    exporter: { simulation: true },
    scrapeIntervals: { dcgmExporter: "7s", exporter: "45s" },
  };

  it("on Docker scrapes the exporter's simulated DCGM port at the DCGM job's interval", () => {
    const cfg = validateStackConfig({ plain, secretKeys: [] });
    const job = dockerScrapeJobs(cfg).find((j) => j.job_name === "dcgm-exporter");
    expect(job).toMatchObject({ scrape_interval: "7s", scrape_timeout: "7s", static_configs: [{ targets: ["gpu-monitoring-exporter:9400"] }] });
  });

  it("on Kubernetes discovers the exporter's pods on dcgm-sim at the DCGM job's interval", () => {
    const cfg = validateStackConfig({ plain: { ...plain, platform: "kubernetes", images: { exporter: "registry.example.org/exporter:1.0.0" } }, secretKeys: [] });
    const job = kubernetesScrapeJobs(cfg).find((j) => j.job_name === "dcgm-exporter") as { scrape_interval: string; relabel_configs: { regex?: string }[] } | undefined;
    expect(job?.scrape_interval).toBe("7s");
    expect(job?.relabel_configs.slice(0, 2).map((r) => r.regex)).toEqual(["exporter", "dcgm-sim"]);
    expect(kubernetesScrapeJobs(cfg).find((j) => j.job_name === "ds01-exporter")?.scrape_interval).toBe("45s");
  });
});
