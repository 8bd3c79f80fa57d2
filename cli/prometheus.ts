import { z } from "zod";
import { CliError } from "./errors";
import { displayUrl, httpRequest, HttpFailure, joinUrl } from "./http";

const sampleValue = z.tuple([z.number(), z.string()]);
const labels = z.record(z.string(), z.string());
const queryData = z.discriminatedUnion("resultType", [
  z.object({ resultType: z.literal("vector"), result: z.array(z.object({ metric: labels, value: sampleValue })) }),
  z.object({ resultType: z.literal("matrix"), result: z.array(z.object({ metric: labels, values: z.array(sampleValue) })) }),
  z.object({ resultType: z.literal("scalar"), result: sampleValue }),
  z.object({ resultType: z.literal("string"), result: sampleValue }),
]);
const activeTarget = z.object({
  labels,
  scrapePool: z.string(),
  scrapeUrl: z.string(),
  health: z.string(),
  lastError: z.string(),
  lastScrapeDuration: z.number(),
});
const targetsData = z.object({ activeTargets: z.array(activeTarget) });
export type ActiveTarget = z.infer<typeof activeTarget>;

const apiResponse = z.object({
  status: z.enum(["success", "error"]),
  data: z.unknown().optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
  warnings: z.array(z.string()).optional(),
});

export type QueryData = z.infer<typeof queryData>;

/** One active scrape target as Prometheus sees it. */
export interface ScrapeTarget {
  readonly job: string;
  readonly scrapeUrl: string;
  /** "up", "down" or "unknown". */
  readonly health: string;
  readonly lastError: string;
}
export type Labels = Readonly<Record<string, string>>;

export interface InstantQuery {
  readonly kind: "instant";
  readonly expr: string;
  readonly time?: Date;
}
export interface RangeQuery {
  readonly kind: "range";
  readonly expr: string;
  readonly start: Date;
  readonly end: Date;
  readonly stepSeconds: number;
}
export type Query = InstantQuery | RangeQuery;

export interface QueryOutcome {
  readonly data: QueryData;
  readonly warnings: readonly string[];
}

const seconds = (d: Date): string => (d.getTime() / 1000).toString();

/** A client for Prometheus's HTTP query API (/api/v1/query and /api/v1/query_range). */
export class PrometheusClient {
  constructor(
    readonly baseUrl: URL,
    readonly timeoutMs: number,
  ) {}

  async query(q: Query): Promise<QueryOutcome> {
    const path = q.kind === "instant" ? "/api/v1/query" : "/api/v1/query_range";
    const form = new URLSearchParams({ query: q.expr });
    if (q.kind === "instant" && q.time) form.set("time", seconds(q.time));
    if (q.kind === "range") {
      form.set("start", seconds(q.start));
      form.set("end", seconds(q.end));
      form.set("step", q.stepSeconds.toString());
    }
    // POST with a form body: long expressions do not hit URL length limits.
    const body = await this.call("POST", path, form);
    const data = queryData.safeParse(body.data);
    if (!data.success) {
      throw new CliError(`Prometheus's answer has an unexpected shape: ${data.error.message}`, "check that --prometheus-url points at a Prometheus 2.x or 3.x");
    }
    return { data: data.data, warnings: body.warnings ?? [] };
  }

  /** The active scrape targets with their job, health and last error. */
  async targets(): Promise<readonly ScrapeTarget[]> {
    return (await this.activeTargets()).map((t) => ({ job: t.labels["job"] ?? t.scrapePool, scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError }));
  }

  /** The active scrape targets (/api/v1/targets): labels after relabelling, scrape URL and health. */
  async activeTargets(): Promise<ActiveTarget[]> {
    const body = await this.call("GET", "/api/v1/targets", new URLSearchParams({ state: "active" }));
    const data = targetsData.safeParse(body.data);
    if (!data.success) {
      throw new CliError(`Prometheus's target list has an unexpected shape: ${data.error.message}`, "check that --prometheus-url points at a Prometheus 2.x or 3.x");
    }
    return data.data.activeTargets;
  }

  private async call(method: "GET" | "POST", path: string, form: URLSearchParams): Promise<z.infer<typeof apiResponse>> {
    const url = joinUrl(this.baseUrl, path);
    if (method === "GET") url.search = form.toString();
    const where = displayUrl(this.baseUrl);
    let res;
    try {
      res = await httpRequest({
        method,
        url,
        headers: method === "POST" ? { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" } : { Accept: "application/json" },
        ...(method === "POST" ? { body: form.toString() } : {}),
        timeoutMs: this.timeoutMs,
      });
    } catch (err: unknown) {
      if (err instanceof HttpFailure && err.kind === "timeout") {
        throw new CliError(`Prometheus at ${where} did not answer within ${this.timeoutMs} ms`, "check the URL, narrow the query or its range, or raise --timeout");
      }
      throw new CliError(
        err instanceof Error ? err.message : String(err),
        "check --prometheus-url / PROMETHEUS_URL and that Prometheus is running (its /-/healthy should answer)",
      );
    }
    let body: z.infer<typeof apiResponse>;
    try {
      body = apiResponse.parse(JSON.parse(res.text));
    } catch {
      throw new CliError(
        `${displayUrl(url)} answered ${res.status} with something that is not a Prometheus API response`,
        "check that --prometheus-url points at Prometheus itself (e.g. http://127.0.0.1:9090), not at Grafana or a proxy login page",
      );
    }
    if (body.status === "error") {
      const next =
        body.errorType === "bad_data"
          ? "fix the PromQL expression (try it in the Prometheus UI under /graph)"
          : body.errorType === "timeout"
            ? "narrow the query or its range"
            : "check Prometheus's own log";
      throw new CliError(`Prometheus refused the query: ${body.errorType ?? "error"}: ${body.error ?? "no detail"}`, next);
    }
    return body;
  }
}

/** `{a="1", b="2"}` with labels sorted, the metric name in front. */
export function seriesName(metric: Labels): string {
  const name = metric.__name__ ?? "";
  const rest = Object.keys(metric)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => `${k}=${JSON.stringify(metric[k])}`);
  return rest.length ? `${name}{${rest.join(", ")}}` : name || "{}";
}
