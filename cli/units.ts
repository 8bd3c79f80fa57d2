/**
 * Numbers as people read them, in the unit the metric catalog gives a metric (Grafana unit ids,
 * the same ones the dashboards use): 87.35 %, 71 °C, 1.5 GiB, 2.3 min.
 */

/** Up to three significant decimals, no trailing zeros: 87.345 -> "87.35", 2 -> "2", 0.00012 -> "0.00012". */
export function shortNumber(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "+Inf" : "-Inf";
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  const text = abs >= 100 ? n.toFixed(1) : abs >= 1 ? n.toFixed(2) : abs >= 0.001 ? n.toFixed(3) : n.toPrecision(2);
  return text.includes("e") ? text : text.replace(/\.?0+$/, "");
}

function scaled(n: number, base: number, units: readonly string[], suffix = ""): string {
  let value = n;
  let i = 0;
  while (Math.abs(value) >= base && i < units.length - 1) {
    value /= base;
    i += 1;
  }
  return `${shortNumber(value)} ${units[i]}${suffix}`;
}

const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB"];

function seconds(n: number): string {
  const abs = Math.abs(n);
  if (abs !== 0 && abs < 1) return `${shortNumber(n * 1000)} ms`;
  if (abs < 120) return `${shortNumber(n)} s`;
  if (abs < 7200) return `${shortNumber(n / 60)} min`;
  if (abs < 172_800) return `${shortNumber(n / 3600)} h`;
  return `${shortNumber(n / 86_400)} d`;
}

/** Formats one sample value (Prometheus's string form) in a catalog unit; unknown units get the bare number. */
export function formatValue(raw: string, unit: string | undefined): string {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) return Number.isNaN(n) && raw !== "NaN" ? raw : shortNumber(n);
  switch (unit) {
    case "percent":
      return `${shortNumber(n)} %`;
    case "percentunit":
      return `${shortNumber(n * 100)} %`;
    case "celsius":
      return `${shortNumber(n)} °C`;
    case "watt":
      return `${shortNumber(n)} W`;
    case "rotmhz":
      return `${shortNumber(n)} MHz`;
    case "bytes":
      return scaled(n, 1024, BINARY);
    case "decmbytes":
      return scaled(n * 1e6, 1000, DECIMAL);
    case "Bps":
      return scaled(n, 1024, BINARY, "/s");
    case "KBs":
      return scaled(n * 1000, 1000, DECIMAL, "/s");
    case "s":
      return seconds(n);
    case "ms":
      return `${shortNumber(n)} ms`;
    case "ops":
      return `${shortNumber(n)} ops/s`;
    case "dateTimeAsIso":
      return n > 0 ? new Date(n * 1000).toISOString() : shortNumber(n);
    default:
      return shortNumber(n);
  }
}
