/**
 * How Grafana's Prometheus data source turns a panel and a time range into a query: the interval
 * from the panel's width (its default max data points), rounded as Grafana rounds it and held at
 * the data source's scrape interval; `$__rate_interval`, `$__interval` and `$__range`; the step
 * kept under Prometheus' 11,000 points; start and end aligned to the step.
 */

/** Grafana's provisioned data source scrape interval (`timeInterval`), the stack's default. */
export const DATASOURCE_SCRAPE_SECONDS = 15;
/** A 1920-pixel-wide dashboard: a full-width panel asks for about this many points. */
const DASHBOARD_WIDTH_PX = 1920;
const GRID_COLUMNS = 24;

/** Grafana's rangeutil.roundInterval (packages/grafana-data/src/datetime/rangeutil.ts), in milliseconds. */
export function roundIntervalMs(ms: number): number {
  const steps: [number, number][] = [
    [10, 1], [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1500, 1000], [3500, 2000], [7500, 5000],
    [12500, 10000], [17500, 15000], [25000, 20000], [45000, 30000], [90000, 60000], [210000, 120000], [450000, 300000],
    [750000, 600000], [1050000, 900000], [1500000, 1200000], [2700000, 1800000], [5400000, 3600000], [9000000, 7200000],
    [16200000, 10800000], [32400000, 21600000], [86400000, 43200000], [604800000, 86400000], [1814400000, 604800000],
    [3628800000, 2592000000],
  ];
  for (const [below, rounded] of steps) if (ms < below) return rounded;
  return 31536000000;
}

function durationSeconds(d: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`not a Grafana interval: ${d}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}

export interface PanelTiming {
  /** Grid columns the panel spans (of 24). */
  readonly width: number;
  readonly maxDataPoints?: number;
  /** The panel's min interval, if it sets one. */
  readonly interval?: string;
}

export interface GrafanaQueryTiming {
  readonly start: number;
  readonly end: number;
  readonly stepSeconds: number;
  /** Values for Grafana's built-in variables. */
  readonly builtins: Readonly<Record<string, string>>;
}

export function grafanaTiming(panel: PanelTiming, end: number, rangeSeconds: number, scrapeSeconds = DATASOURCE_SCRAPE_SECONDS): GrafanaQueryTiming {
  const maxDataPoints = panel.maxDataPoints ?? Math.round((panel.width / GRID_COLUMNS) * DASHBOARD_WIDTH_PX);
  const minIntervalSeconds = panel.interval ? durationSeconds(panel.interval) : scrapeSeconds;
  const intervalSeconds = Math.max(roundIntervalMs((rangeSeconds * 1000) / maxDataPoints) / 1000, minIntervalSeconds);
  const stepSeconds = Math.max(intervalSeconds, Math.ceil(rangeSeconds / 11000), 1);
  const rateInterval = Math.max(intervalSeconds + scrapeSeconds, 4 * scrapeSeconds);
  const start = Math.floor((end - rangeSeconds) / stepSeconds) * stepSeconds;
  const alignedEnd = Math.floor(end / stepSeconds) * stepSeconds;
  return {
    start,
    end: alignedEnd,
    stepSeconds,
    builtins: {
      __interval: `${intervalSeconds}s`,
      __interval_ms: String(intervalSeconds * 1000),
      __rate_interval: `${rateInterval}s`,
      __range: `${rangeSeconds}s`,
      __range_s: String(rangeSeconds),
      __range_ms: String(rangeSeconds * 1000),
    },
  };
}
