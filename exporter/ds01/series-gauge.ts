import { Gauge, type GaugeConfiguration, type LabelValues, type MetricObjectWithValues, type MetricValue } from "prom-client";
import { escapeLabelValue, escapeText, sampleValue, type PrerenderedMetric } from "../core/render";

const RENDER_BLOCK_CHARS = 64 * 1024;

/** One series of a family: its label values and its value. */
export interface Series<T extends string> {
  readonly labels: LabelValues<T>;
  readonly value: number;
}

/**
 * A gauge whose series are replaced as a whole (one DS01 snapshot at a time) rather than set
 * one by one. It keeps no series of its own: replaceWith() hands it a function that lists them
 * from data the caller holds anyway (the snapshot), and the family's exposition is written from
 * it once after each replacement, kept as UTF-8 bytes and handed as they are to every scrape
 * (see renderMetrics). A scrape of thousands of unchanged series formats and copies nothing, and
 * memory holds their text once instead of their label objects as well. prom-client's own
 * Registry.metrics() still works on it, through get(), and writes the same text.
 *
 * `exposedAs: "counter"` publishes a family whose values are counters read elsewhere (a
 * cgroup's CPU time): replaced whole like a gauge's, typed as the counter it is.
 */
export class SeriesGauge<T extends string> extends Gauge<T> implements PrerenderedMetric {
  private list: () => Iterable<Series<T>> = () => [];
  private text: Buffer | undefined;
  private readonly exposedAs: "gauge" | "counter";

  constructor(config: GaugeConfiguration<T> & { exposedAs?: "gauge" | "counter" }) {
    const { exposedAs, ...gaugeConfig } = config;
    super(gaugeConfig);
    this.exposedAs = exposedAs ?? "gauge";
  }

  /** Replaces every series at once; synchronous, so no scrape can see half of it. */
  replace(series: ReadonlyArray<Series<T>>): void {
    this.replaceWith(() => series);
  }

  /**
   * Replaces every series at once with those `list` yields, in its order. `list` must yield the
   * same series each time it is called (it reads data that does not change, such as a snapshot).
   */
  replaceWith(list: () => Iterable<Series<T>>): void {
    this.list = list;
    this.text = undefined;
  }

  override reset(): void {
    super.reset();
    this.replace([]);
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    const base = await super.get();
    const values: MetricValue<T>[] = [];
    for (const { labels, value } of this.list()) values.push({ value, labels: { ...labels } });
    // prom-client's typings declare a numeric enum; at run time the type is the string it writes.
    return { ...base, type: this.exposedAs as unknown as typeof base.type, values };
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
    for (const { labels, value } of this.list()) {
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
