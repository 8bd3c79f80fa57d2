import { Registry } from "prom-client";
import type { Collector } from "../../../exporter/core/collector";
import { setQuietLog } from "../../../exporter/core/log";

/** One sample of the text exposition format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses exposition text, unescaping label values (\\, \", \n) the way Prometheus does. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = line.lastIndexOf(" ");
    if (brace < 0 || brace > space) {
      out.push({ name: line.slice(0, space), labels: {}, value: Number(line.slice(space + 1)) });
      continue;
    }
    const labels: Record<string, string> = {};
    let i = brace + 1;
    while (line[i] !== "}") {
      const eq = line.indexOf("=", i);
      const key = line.slice(i, eq);
      let j = eq + 2;
      let value = "";
      while (line[j] !== '"') {
        if (line[j] === "\\") {
          const next = line[j + 1];
          value += next === "n" ? "\n" : next;
          j += 2;
        } else {
          value += line[j];
          j++;
        }
      }
      labels[key] = value;
      i = j + 1;
      if (line[i] === ",") i++;
    }
    out.push({ name: line.slice(0, brace), labels, value: Number(line.slice(i + 2)) });
  }
  return out;
}

/** Samples of `name` whose labels include every pair in `match`. */
export function find(samples: readonly Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The single value of `name` matching `match`; undefined if absent, throws if ambiguous. */
export function value(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number | undefined {
  const found = find(samples, name, match);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(match)}`);
  return found[0]?.value;
}

/** A registry with one collector, scraped as the server does: refresh, then render. */
export class Harness {
  readonly registry = new Registry();
  constructor(readonly collector: Collector) {
    setQuietLog(true);
    collector.register(this.registry);
  }
  async scrape(): Promise<{ text: string; samples: Sample[] }> {
    await this.collector.refresh();
    const text = await this.registry.metrics();
    return { text, samples: parseExposition(text) };
  }
  async up(source: string): Promise<number | undefined> {
    const { samples } = await this.scrape();
    return value(samples, "ds01_exporter_source_up", { source });
  }
}
