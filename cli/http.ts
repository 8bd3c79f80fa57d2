import { UsageError } from "./errors";

export interface HttpRequest {
  readonly method: "GET" | "POST";
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The whole exchange, body included, must finish within this. */
  readonly timeoutMs: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** A URL fit to print: no user:password, no query string (either may carry a credential). */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
}

/** Parses a base URL given by a flag or env variable, naming the flag when it is not one. */
export function parseBaseUrl(value: string, flag: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The value is not repeated: a URL pasted with credentials in it would be echoed.
    throw new UsageError(`${flag} is not a URL`, `give a full URL such as http://127.0.0.1:9090`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${flag} must be http:// or https://, got ${url.protocol}`, `give a URL such as http://127.0.0.1:9090`);
  }
  return url;
}

/**
 * Joins a base URL (which may sit under a sub-path, e.g. Grafana behind /grafana) with an API
 * path. A user:password in the base is kept: httpRequest turns it into basic auth.
 */
export function joinUrl(base: URL, path: string): URL {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  url.search = "";
  return url;
}

/** fetch() refuses URLs with credentials; a user:password in the URL becomes a basic-auth header instead. */
function splitCredentials(url: URL): { url: URL; authorization?: string } {
  if (!url.username && !url.password) return { url };
  const bare = new URL(url.href);
  bare.username = "";
  bare.password = "";
  const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { url: bare, authorization: `Basic ${Buffer.from(pair).toString("base64")}` };
}

export type HttpFailureKind = "timeout" | "unreachable";

/** The request got no HTTP answer at all. */
export class HttpFailure extends Error {
  constructor(
    readonly kind: HttpFailureKind,
    readonly url: URL,
    readonly timeoutMs: number,
    detail: string,
  ) {
    super(kind === "timeout" ? `no answer from ${displayUrl(url)} within ${timeoutMs} ms` : `cannot reach ${displayUrl(url)}: ${detail}`);
    this.name = "HttpFailure";
  }
}

/** fetch() hides the reason in `cause`: a system error code (ECONNREFUSED) or undici's own message ("bad port"). */
function causeCode(err: unknown): string | undefined {
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined;
  if (cause && typeof cause === "object" && "code" in cause && typeof cause.code === "string") return cause.code;
  if (cause instanceof Error && cause.message) return cause.message;
  return undefined;
}

export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const signal = AbortSignal.timeout(req.timeoutMs);
  const { url, authorization } = splitCredentials(req.url);
  const headers = authorization && !Object.keys(req.headers ?? {}).some((h) => h.toLowerCase() === "authorization") ? { ...req.headers, Authorization: authorization } : req.headers;
  try {
    const res = await fetch(url, {
      method: req.method,
      headers,
      body: req.body,
      signal,
      redirect: "manual",
    });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get("content-type") ?? "", text };
  } catch (err: unknown) {
    if (signal.aborted) throw new HttpFailure("timeout", req.url, req.timeoutMs, "timed out");
    const code = causeCode(err);
    throw new HttpFailure("unreachable", req.url, req.timeoutMs, code ?? (err instanceof Error ? err.message : String(err)));
  }
}
