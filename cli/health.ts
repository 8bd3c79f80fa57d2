// The registry and the built-in services only: the CLI starts without the renderers.
import "../components/services/builtin";
import type { ProbeKind } from "../components/services/descriptor";
import { registeredServices } from "../components/services/registry";
import type { ServiceName } from "../components/spec";
import { displayUrl, httpRequest, HttpFailure, joinUrl } from "./http";

export type { ProbeKind };

/** How one component says it is healthy: a probe path and what a good answer looks like. */
export interface ComponentProbe {
  readonly name: ServiceName;
  readonly path: string;
  readonly kind: ProbeKind;
}

/**
 * Every registered service's probe (its descriptor's), in the order the status table lists
 * them: services with a health endpoint of their own first, then those judged by their metrics,
 * each group in registration order.
 */
export function componentProbes(): ComponentProbe[] {
  const probes = registeredServices().flatMap((d) => (d.probe ? [{ name: d.name, path: d.probe.path, kind: d.probe.kind }] : []));
  return [...probes.filter((p) => p.kind !== "metrics"), ...probes.filter((p) => p.kind === "metrics")];
}

export interface HealthResult {
  readonly component: ServiceName;
  readonly url: string;
  readonly healthy: boolean;
  readonly detail: string;
  readonly latencyMs: number;
}

const SAMPLE_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?\s+\S+/;

function judge(kind: ProbeKind, status: number, text: string): { healthy: boolean; detail: string } {
  if (status < 200 || status >= 300) return { healthy: false, detail: `HTTP ${status}${text.trim() ? `: ${text.trim().slice(0, 80)}` : ""}` };
  switch (kind) {
    case "healthy":
      return { healthy: true, detail: text.trim().slice(0, 80) || `HTTP ${status}` };
    case "grafana": {
      let database: unknown;
      try {
        database = (JSON.parse(text) as { database?: unknown }).database;
      } catch {
        return { healthy: false, detail: "answer is not Grafana's health JSON" };
      }
      return database === "ok" ? { healthy: true, detail: "database ok" } : { healthy: false, detail: `database ${String(database)}` };
    }
    case "metrics": {
      const samples = text.split("\n").filter((l) => SAMPLE_LINE.test(l)).length;
      return samples > 0 ? { healthy: true, detail: `${samples} samples` } : { healthy: false, detail: "no samples in the answer" };
    }
  }
}

export async function checkComponent(probe: ComponentProbe, base: URL, timeoutMs: number): Promise<HealthResult> {
  const url = joinUrl(base, probe.path);
  const started = performance.now();
  const done = (healthy: boolean, detail: string): HealthResult => ({
    component: probe.name,
    url: displayUrl(url),
    healthy,
    detail,
    latencyMs: Math.round(performance.now() - started),
  });
  try {
    const res = await httpRequest({ method: "GET", url, timeoutMs, headers: { Accept: probe.kind === "metrics" ? "text/plain" : "*/*" } });
    const verdict = judge(probe.kind, res.status, res.text);
    return done(verdict.healthy, verdict.detail);
  } catch (err: unknown) {
    if (err instanceof HttpFailure) return done(false, err.kind === "timeout" ? `no answer within ${timeoutMs} ms` : err.message.replace(/^cannot reach \S+: /, "unreachable: "));
    throw err;
  }
}

/** Checks every component at once; each check is bounded by `timeoutMs`. */
export function checkAll(urls: ReadonlyMap<ServiceName, URL>, timeoutMs: number): Promise<HealthResult[]> {
  return Promise.all(componentProbes().filter((p) => urls.has(p.name)).map((p) => checkComponent(p, urls.get(p.name) as URL, timeoutMs)));
}
