import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { jsonShapeProblem, type JsonShapeLimits } from "../core/json-shape";
import type { Source } from "../core/source";
import { parseDrmSnapshot, type DrmSnapshot } from "./model";

/** Path of the snapshot document under --drm-url. */
export const DRM_SNAPSHOT_PATH = "/api/v1/monitoring/snapshot";
export const DEFAULT_DRM_TIMEOUT_MS = 5_000;
/** A snapshot of 10,000 workers is about 2 MB; anything far beyond is not a snapshot. */
export const DEFAULT_DRM_MAX_BYTES = 8 * 1024 * 1024;
/**
 * A valid snapshot nests three deep (snapshot, workers, worker) and holds about 80,000 values at
 * its 10,000-worker bound; room is left for fields the coordinator adds, not for a parse bomb.
 */
export const DRM_JSON_SHAPE: JsonShapeLimits = { maxDepth: 16, maxValues: 250_000 };

export interface DrmHttpSourceOptions {
  /** Coordinator base URL, e.g. http://drm-coordinator:8080 */
  readonly url: string;
  /** Sent as `Authorization: Bearer <key>` and `X-API-Key`; never logged or put in errors. */
  readonly apiKey?: string;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
}

/** The URL with any user:password removed, safe for logs and errors. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = "";
    u.password = "";
    u.search = "";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}

/** Builds the snapshot URL; throws on anything but an http(s) URL. */
export function drmSnapshotUrl(base: string): URL {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new Error("--drm-url is not a valid URL");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("--drm-url must be an http:// or https:// URL");
  const prefix = u.pathname.replace(/\/+$/, "");
  u.pathname = prefix + DRM_SNAPSHOT_PATH;
  return u;
}

/**
 * Reads the DRM coordinator's snapshot over HTTP: bounded in time (timeout aborts the request)
 * and size (the body is read as a stream and dropped past maxBytes), validated with the zod
 * schema. Redirects are not followed (the key must not travel to another host). Error messages are built here, so neither the key nor the body reaches a log.
 */
export function createDrmHttpSource(options: DrmHttpSourceOptions): Source<DrmSnapshot> {
  const target = drmSnapshotUrl(options.url);
  const shown = redactUrl(target.toString());
  const timeoutMs = options.timeoutMs ?? DEFAULT_DRM_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_DRM_MAX_BYTES;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.apiKey) {
    headers.Authorization = `Bearer ${options.apiKey}`;
    headers["X-API-Key"] = options.apiKey;
  }
  const scrub = (message: string): string =>
    options.apiKey ? message.split(options.apiKey).join("[redacted]") : message;
  let closed = false;

  const read = async (): Promise<DrmSnapshot> => {
    if (closed) throw new Error("DRM source closed");
    const res = await get(target, headers, timeoutMs, maxBytes);
    switch (res.kind) {
      case "timeout":
        throw new Error(`DRM API ${shown} timed out after ${timeoutMs} ms`);
      case "network":
        throw new Error(`DRM API ${shown} unreachable: ${scrub(res.code)}`);
      case "too-large":
        throw new Error(`DRM API ${shown} body exceeds ${maxBytes} bytes`);
      case "response":
        break;
    }
    if (res.status === 401 || res.status === 403) throw new Error(`DRM API ${shown} refused the API key (HTTP ${res.status})`);
    if (res.status < 200 || res.status > 299) throw new Error(`DRM API ${shown} answered HTTP ${res.status}`);
    const shape = await jsonShapeProblem(res.body, DRM_JSON_SHAPE);
    if (shape) throw new Error(`DRM API ${shown} answered with a body beyond what a snapshot holds: ${shape}`);
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder("utf-8").decode(res.body));
    } catch {
      throw new Error(`DRM API ${shown} answered with a body that is not JSON`);
    }
    return parseDrmSnapshot(payload);
  };

  return {
    name: "drm",
    read,
    close: async () => {
      closed = true;
    },
  };
}

type GetResult =
  | { kind: "response"; status: number; body: Buffer }
  | { kind: "timeout" }
  | { kind: "network"; code: string }
  | { kind: "too-large" };

/**
 * One GET with node:http(s): no redirects followed, the whole exchange bounded by timeoutMs,
 * the body dropped (and the socket closed) as soon as it passes maxBytes. node:http rather
 * than fetch, because fetch refuses ports on the browsers' "bad port" list (6000, 6665, ...)
 * that a coordinator may well use.
 */
function get(url: URL, headers: Record<string, string>, timeoutMs: number, maxBytes: number): Promise<GetResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: GetResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
      req.destroy();
    };
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(url, { method: "GET", headers }, (res) => {
      const declared = Number(res.headers["content-length"] ?? "NaN");
      if (declared > maxBytes) return finish({ kind: "too-large" });
      const chunks: Buffer[] = [];
      let total = 0;
      res.on("data", (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) return finish({ kind: "too-large" });
        chunks.push(chunk);
      });
      res.on("end", () => finish({ kind: "response", status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", (err: NodeJS.ErrnoException) => finish({ kind: "network", code: err.code ?? "response aborted" }));
    });
    const timer = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    req.on("error", (err: NodeJS.ErrnoException) => finish({ kind: "network", code: err.code ?? "request failed" }));
    req.end();
  });
}
