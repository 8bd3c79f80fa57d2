import { Gauge, type Aggregator, type LabelValues, type MetricObjectWithValues, type MetricType, type MetricValue } from "prom-client";

interface PromStringValue {
  value: number;
  labels: Record<string, never>;
  /** prom-client formats (and escapes) a sharedLabels object once and caches the text by identity. */
  sharedLabels: LabelValues<string>;
}

const NO_LABELS: Record<string, never> = Object.freeze({});

/**
 * A gauge whose series are replaced as a whole (one DS01 snapshot at a time) rather than set
 * one by one. The series live in prebuilt arrays, so a scrape copies nothing; and the text
 * exposition hands each series' labels to prom-client as `sharedLabels`, which prom-client
 * escapes and formats once per labels object and then reuses, so a scrape of thousands of
 * unchanged series costs no label escaping. (`registry.metrics()` uses getForPromString;
 * getMetricsAsJSON and everything else use get(), which carries the labels as usual.)
 */
export class SeriesGauge<T extends string> extends Gauge<T> {
  private jsonValues: MetricValue<T>[] = [];
  private textValues: PromStringValue[] = [];

  /** Replaces every series at once; synchronous, so no scrape can see half of it. */
  replace(series: ReadonlyArray<{ labels: LabelValues<T>; value: number }>): void {
    const json: MetricValue<T>[] = [];
    const text: PromStringValue[] = [];
    for (const s of series) {
      const labels = { ...s.labels };
      json.push({ value: s.value, labels });
      text.push({ value: s.value, labels: NO_LABELS, sharedLabels: labels });
    }
    this.jsonValues = json;
    this.textValues = text;
  }

  override reset(): void {
    this.replace([]);
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return { ...this.header(), values: this.jsonValues };
  }

  /** Read by prom-client's Registry when rendering text. */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return { ...this.header(), values: this.textValues as unknown as MetricValue<T>[] };
  }

  /** prom-client keeps these on the instance at run time without declaring them in its types. */
  private header(): { name: string; help: string; type: MetricType; aggregator: Aggregator; collect: () => void } {
    const self = this as unknown as { name: string; help: string; type: MetricType; aggregator: Aggregator };
    return { name: self.name, help: self.help, type: self.type, aggregator: self.aggregator, collect: () => undefined };
  }
}
