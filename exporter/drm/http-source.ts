import type { Source } from "../core/source";
import { parseDrmSnapshot, type DrmSnapshot } from "./model";

/** Path of the snapshot document under --drm-url. */
export const DRM_SNAPSHOT_PATH = "/api/v1/monitoring/snapshot";
export const DEFAULT_DRM_TIMEOUT_MS = 5_000;
/** A snapshot of 10,000 workers is about 2 MB; anything far beyond is not a snapshot. */
export const DEFAULT_DRM_MAX_BYTES = 8 * 1024 * 1024;

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
 * schema. Error messages are built here, so neither the key nor the body reaches a log.
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
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      let res: Response;
      try {
        res = await fetch(target, { headers, signal: controller.signal, redirect: "error" });
      } catch (err: unknown) {
        if (controller.signal.aborted) throw new Error(`DRM API ${shown} timed out after ${timeoutMs} ms`);
        throw new Error(`DRM API ${shown} unreachable: ${scrub(causeCode(err))}`);
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new Error(`DRM API ${shown} refused the API key (HTTP ${res.status})`);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`DRM API ${shown} answered HTTP ${res.status}`);
      }
      const declared = Number(res.headers.get("content-length") ?? "NaN");
      if (declared > maxBytes) {
        await res.body?.cancel();
        throw new Error(`DRM API ${shown} body of ${declared} bytes exceeds ${maxBytes}`);
      }
      let text: string;
      try {
        text = await readCapped(res, maxBytes);
      } catch (err: unknown) {
        if (controller.signal.aborted) throw new Error(`DRM API ${shown} timed out after ${timeoutMs} ms`);
        throw err instanceof BodyTooLargeError ? new Error(`DRM API ${shown} body exceeds ${maxBytes} bytes`) : new Error(`DRM API ${shown} body unreadable`);
      }
      let payload: unknown;
      try {
        payload = JSON.parse(text);
      } catch {
        throw new Error(`DRM API ${shown} answered with a body that is not JSON`);
      }
      return parseDrmSnapshot(payload);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    name: "drm",
    read,
    close: async () => {
      closed = true;
    },
  };
}

class BodyTooLargeError extends Error {}

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new BodyTooLargeError();
    }
    chunks.push(value);
  }
  return new TextDecoder("utf-8", { fatal: false }).decode(Buffer.concat(chunks));
}

/** A short, secret-free description of a network failure (ECONNREFUSED, ENOTFOUND, ...). */
function causeCode(err: unknown): string {
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined;
  if (cause && typeof cause === "object" && "code" in cause && typeof cause.code === "string") return cause.code;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : "unknown error";
}
