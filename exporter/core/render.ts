import { Registry } from "prom-client";

/**
 * A metric that keeps its own exposition: the whole family (HELP, TYPE and every series) as
 * prom-client's Registry would write it, in UTF-8, rebuilt only when its series change.
 */
export interface PrerenderedMetric {
  exposition(): Buffer;
}

function isPrerendered(metric: unknown): metric is PrerenderedMetric {
  return typeof (metric as Partial<PrerenderedMetric>).exposition === "function";
}

/**
 * The registry's text exposition, as `registry.metrics()` writes it, in pieces to be written
 * one after another: prerendered families are passed on as the buffers they keep, so a scrape
 * of thousands of unchanged series neither formats them nor copies them into a page-sized
 * string (which would be garbage of megabytes per scrape). Families come in registration
 * order, separated by a blank line, as prom-client writes them. A registry set to OpenMetrics
 * is left to prom-client entirely; prerendered families carry no default labels (the exporter
 * sets none).
 */
export async function renderMetrics(registry: Registry): Promise<Array<string | Buffer>> {
  if (registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return [await registry.metrics()];
  const families = await Promise.all(
    registry.getMetricsAsArray().map((metric) => (isPrerendered(metric) ? metric.exposition() : registry.getSingleMetricAsString(metric.name))),
  );
  const pieces: Array<string | Buffer> = [];
  for (const family of families) {
    if (pieces.length > 0) pieces.push("\n\n");
    pieces.push(family);
  }
  pieces.push("\n");
  return pieces;
}

/** Bytes in pieces as written (UTF-8). */
export function byteLength(pieces: ReadonlyArray<string | Buffer>): number {
  let n = 0;
  for (const p of pieces) n += typeof p === "string" ? Buffer.byteLength(p) : p.length;
  return n;
}

/** prom-client's escaping: backslash and newline in names, help and label values; quotes in label values too. */
export function escapeText(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function escapeLabelValue(s: string): string {
  return escapeText(s).replace(/"/g, '\\"');
}

/** A sample value as prom-client writes it (NaN as "Nan", infinities as +Inf/-Inf). */
export function sampleValue(value: number): string {
  if (Number.isNaN(value)) return "Nan";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return `${value}`;
}
