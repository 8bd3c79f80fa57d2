import { httpRequest } from "./wait";

interface ApiEnvelope<T> {
  readonly status: "success" | "error";
  readonly data: T;
  readonly errorType?: string;
  readonly error?: string;
  readonly warnings?: readonly string[];
}

export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

export type QueryResult =
  | { readonly resultType: "vector"; readonly result: readonly Sample[] }
  | { readonly resultType: "matrix"; readonly result: readonly { metric: Record<string, string>; values: [number, string][] }[] }
  | { readonly resultType: "scalar" | "string"; readonly result: readonly [number, string] };

export interface ActiveTarget {
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly health: "up" | "down" | "unknown";
  readonly lastError: string;
}

export interface RuleState {
  readonly name: string;
  readonly query: string;
  readonly type: "alerting" | "recording";
  readonly health: "ok" | "err" | "unknown";
  readonly lastError?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly state?: "inactive" | "pending" | "firing";
}

export interface RuleGroupState {
  readonly name: string;
  readonly file: string;
  readonly rules: readonly RuleState[];
  /** Seconds the group's last evaluation took. */
  readonly evaluationTime?: number;
  /** Seconds between evaluations. */
  readonly interval?: number;
  /** RFC 3339; Go's zero time (year 1) until the group's first evaluation. */
  readonly lastEvaluation?: string;
}

export interface PrometheusAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: "pending" | "firing";
  readonly activeAt: string;
}

/** Number of series a query returned: 1 for a scalar, the vector/matrix length otherwise. */
export function seriesCount(result: QueryResult): number {
  return result.resultType === "vector" || result.resultType === "matrix" ? result.result.length : 1;
}

/** The bits of Prometheus' HTTP API the suite reads. Errors name the query so a failure says which. */
export class PrometheusApi {
  constructor(readonly baseUrl: string) {}

  private async get<T>(path: string, params: Record<string, string | readonly string[]> = {}): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      for (const v of typeof value === "string" ? [value] : value) search.append(key, v);
    }
    const query = search.toString();
    const url = `${this.baseUrl}${path}${query ? `?${query}` : ""}`;
    const { status, text } = await httpRequest(url, { timeoutMs: 10_000 });
    let body: ApiEnvelope<T>;
    try {
      body = JSON.parse(text) as ApiEnvelope<T>;
    } catch {
      throw new Error(`HTTP ${status} from ${path}: ${text.slice(0, 300)}`);
    }
    if (body.status !== "success") throw new Error(`${body.errorType ?? "error"}: ${body.error ?? `HTTP ${status}`}`);
    return body.data;
  }

  async ready(): Promise<boolean> {
    const { status } = await httpRequest(`${this.baseUrl}/-/ready`, { timeoutMs: 2_000 });
    return status === 200;
  }

  query(expr: string, time?: number): Promise<QueryResult> {
    return this.get<QueryResult>("/api/v1/query", { query: expr, ...(time !== undefined ? { time: String(time) } : {}) });
  }

  queryRange(expr: string, start: number, end: number, step: number): Promise<QueryResult> {
    return this.get<QueryResult>("/api/v1/query_range", {
      query: expr,
      start: String(start),
      end: String(end),
      step: String(step),
    });
  }

  /** Vector results only; a scalar or string result is an error for callers that count series. */
  async vector(expr: string): Promise<readonly Sample[]> {
    const result = await this.query(expr);
    if (result.resultType !== "vector") throw new Error(`expected a vector from ${expr}, got ${result.resultType}`);
    return result.result;
  }

  labelValues(label: string, match: readonly string[] = []): Promise<readonly string[]> {
    return this.get<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values`, match.length ? { "match[]": match } : {});
  }

  async activeTargets(): Promise<readonly ActiveTarget[]> {
    const data = await this.get<{ activeTargets: ActiveTarget[] }>("/api/v1/targets", { state: "active" });
    return data.activeTargets;
  }

  async ruleGroups(): Promise<readonly RuleGroupState[]> {
    const data = await this.get<{ groups: RuleGroupState[] }>("/api/v1/rules");
    return data.groups;
  }

  async alerts(): Promise<readonly PrometheusAlert[]> {
    const data = await this.get<{ alerts: PrometheusAlert[] }>("/api/v1/alerts");
    return data.alerts;
  }

  async alertmanagers(): Promise<readonly string[]> {
    const data = await this.get<{ activeAlertmanagers: { url: string }[] }>("/api/v1/alertmanagers");
    return data.activeAlertmanagers.map((a) => a.url);
  }

  /** Config as Prometheus loaded it (after its defaults), for messages and sanity checks. */
  async loadedConfig(): Promise<string> {
    const data = await this.get<{ yaml: string }>("/api/v1/status/config");
    return data.yaml;
  }

  async reload(): Promise<void> {
    const { status, text } = await httpRequest(`${this.baseUrl}/-/reload`, { method: "POST" });
    if (status !== 200) throw new Error(`reload failed: HTTP ${status}: ${text}`);
  }
}
