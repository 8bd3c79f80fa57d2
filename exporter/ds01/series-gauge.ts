import { Gauge, type GaugeConfiguration, type LabelValues, type MetricObjectWithValues, type MetricValue } from "prom-client";
import { escapeLabelValue, escapeText, sampleValue, type PrerenderedMetric } from "../core/render";

const RENDER_BLOCK_CHARS = 64 * 1024;

/**
 * A gauge whose series are replaced as a whole (one DS01 snapshot at a time) rather than set
 * one by one. The series live in a prebuilt array, so get() copies nothing; and the family's
 * exposition is written once after each replace(), kept as UTF-8 bytes and handed as they are
 * to every scrape (see renderMetrics), so a scrape of thousands of unchanged series formats
 * and copies nothing. prom-client's own Registry.metrics() still works on it,
 * through get(), and writes the same text.
 *
 * `exposedAs: "counter"` publishes a family whose values are counters read elsewhere (a
 * cgroup's CPU time): replaced whole like a gauge's, typed as the counter it is.
 */
export class SeriesGauge<T extends string> extends Gauge<T> implements PrerenderedMetric {
  private values: MetricValue<T>[] = [];
  private text: Buffer | undefined;
  private readonly exposedAs: "gauge" | "counter";

  constructor(config: GaugeConfiguration<T> & { exposedAs?: "gauge" | "counter" }) {
    const { exposedAs, ...gaugeConfig } = config;
    super(gaugeConfig);
    this.exposedAs = exposedAs ?? "gauge";
  }

  /** Replaces every series at once; synchronous, so no scrape can see half of it. */
  replace(series: ReadonlyArray<{ labels: LabelValues<T>; value: number }>): void {
    this.values = series.map((s) => ({ value: s.value, labels: { ...s.labels } }));
    this.text = undefined;
  }

  override reset(): void {
    super.reset();
    this.replace([]);
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    const base = await super.get();
    // prom-client's typings declare a numeric enum; at run time the type is the string it writes.
    return { ...base, type: this.exposedAs as unknown as typeof base.type, values: this.values };
  }

  exposition(): Buffer {
    this.text ??= this.render();
    return this.text;
  }

  /**
   * The text prom-client's Registry writes for this family: HELP, TYPE, then one line a series,
   * without a trailing newline. Written to bytes a block at a time, so the lines of thousands of
   * series die young instead of all living until one join at the end.
   */
  private render(): Buffer {
    const self = this as unknown as { name: string; help: string };
    const name = escapeText(self.name);
    const blocks: Buffer[] = [];
    let text = `# HELP ${name} ${escapeText(self.help)}\n# TYPE ${name} ${this.exposedAs}`;
    for (const { labels, value } of this.values) {
      let pairs = "";
      for (const [label, v] of Object.entries(labels)) {
        pairs += `${pairs ? "," : ""}${label}="${typeof v === "string" ? escapeLabelValue(v) : String(v)}"`;
      }
      text += `\n${name}${pairs ? `{${pairs}}` : ""} ${sampleValue(value)}`;
      if (text.length >= RENDER_BLOCK_CHARS) {
        blocks.push(Buffer.from(text));
        text = "";
      }
    }
    blocks.push(Buffer.from(text));
    return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
  }
}
