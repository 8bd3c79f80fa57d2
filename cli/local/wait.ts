/** Sleeps without keeping the process alive past the test. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
}

/**
 * Polls `check` until it returns a value other than undefined, bounded in time. A check may
 * throw; the last error (or the last description it gave) goes into the timeout message so a
 * failure says what was still wrong.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  options: WaitOptions,
  describeLast?: () => string,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 250;
  let lastError = "";
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      lastError = "";
    } catch (err: unknown) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      const last = describeLast?.() ?? lastError;
      throw new Error(`timed out after ${(options.timeoutMs / 1000).toFixed(1)}s waiting for ${what}${last ? `; last seen: ${last}` : ""}`);
    }
    await sleep(interval);
  }
}

/** GET/POST with a time bound; every HTTP call the suite makes goes through here. */
export async function httpRequest(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: init.method ?? "GET",
    ...(init.body !== undefined ? { body: init.body } : {}),
    headers: init.headers ?? {},
    signal: AbortSignal.timeout(init.timeoutMs ?? 5_000),
  });
  return { status: response.status, text: await response.text() };
}

export async function httpJson<T>(
  url: string,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<T> {
  const { status, text } = await httpRequest(url, {
    ...(init.method !== undefined ? { method: init.method } : {}),
    ...(init.body !== undefined ? { body: JSON.stringify(init.body), headers: { "content-type": "application/json" } } : {}),
    ...(init.timeoutMs !== undefined ? { timeoutMs: init.timeoutMs } : {}),
  });
  if (status < 200 || status >= 300) throw new Error(`${init.method ?? "GET"} ${url} -> HTTP ${status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}
