import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Server } from "node:net";
import { Gauge, Registry } from "prom-client";
import { exporterSelf } from "../../metrics";
import type { Collector } from "./collector";
import { registerDefaultMetrics } from "./default-metrics";
import { createBoundedServer, DEFAULT_HTTP_LIMITS, type HttpLimits } from "./http-limits";
import { log } from "./log";
import { byteLength, renderMetrics } from "./render";

export const DEFAULT_METRICS_PORT = 9101;
export const DEFAULT_BIND = "127.0.0.1";
/** Bound on one collector's refresh inside a scrape; Prometheus' default scrape timeout is 10 s. */
export const DEFAULT_REFRESH_TIMEOUT_MS = 5000;

export interface ExporterOptions {
  readonly collectors: readonly Collector[];
  /** Port for /metrics; 0 picks a free one. Default 9101. */
  readonly port?: number;
  /** Address to listen on. Default 127.0.0.1. */
  readonly bind?: string;
  /** Bound on each collector's refresh per scrape. Default 5000 ms. */
  readonly refreshTimeoutMs?: number;
  /** process_* and nodejs_* metrics. Default true. */
  readonly defaultMetrics?: boolean;
  /** Registry to use; a fresh one by default (tests may pass their own). */
  readonly registry?: Registry;
  /** Extra things to close with the exporter (the simulated DCGM endpoint, sources). */
  readonly onClose?: readonly (() => Promise<void>)[];
  /** Further GET/HEAD endpoints by path (SLURM service discovery); /metrics and /-/* stay reserved. */
  readonly routes?: Readonly<Record<string, Route>>;
  /** Connection cap, timeouts and pipelining bound. Default DEFAULT_HTTP_LIMITS. */
  readonly httpLimits?: HttpLimits;
  /**
   * Run once, just after the first refresh round: a full garbage collection. Default node's
   * `gc()` where the runtime exposes it (`--expose-gc`, as the image and the systemd unit start
   * the exporter), else nothing.
   */
  readonly collectGarbage?: () => void;
}

/** What an extra endpoint answers; computed from the query string of the request. */
export interface RouteAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}
export type Route = (query: URLSearchParams) => RouteAnswer;

export interface RunningExporter {
  /** Base URL, e.g. http://127.0.0.1:9101 */
  readonly url: string;
  readonly port: number;
  readonly registry: Registry;
  /** Resolves once the first refresh round has finished (what /-/ready reports). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

class RefreshTimeoutError extends Error {
  constructor(collector: string, ms: number) {
    super(`collector ${collector} did not refresh within ${ms} ms`);
  }
}

/**
 * Refreshes every collector before a scrape. Rounds are shared: scrapes that arrive while a
 * round runs wait for that round instead of starting their own, and a collector whose last
 * refresh is still running (hung) is waited on again, never called a second time in parallel.
 */
class RefreshRound {
  private round: Promise<void> | undefined;
  private readonly inFlight = new Map<Collector, Promise<void>>();
  private readonly success: Gauge<"collector">;
  private readonly duration: Gauge<"collector">;

  constructor(
    private readonly collectors: readonly Collector[],
    private readonly timeoutMs: number,
    registry: Registry,
  ) {
    const m = exporterSelf;
    this.success = new Gauge({
      name: m.ds01_exporter_collector_success.name,
      help: m.ds01_exporter_collector_success.help,
      labelNames: ["collector"],
      registers: [registry],
    });
    this.duration = new Gauge({
      name: m.ds01_exporter_collector_duration_seconds.name,
      help: m.ds01_exporter_collector_duration_seconds.help,
      labelNames: ["collector"],
      registers: [registry],
    });
  }

  run(): Promise<void> {
    if (!this.round) {
      this.round = Promise.all(this.collectors.map((c) => this.refreshOne(c))).then(() => {
        this.round = undefined;
      });
    }
    return this.round;
  }

  private async refreshOne(collector: Collector): Promise<void> {
    const started = performance.now();
    let pending = this.inFlight.get(collector);
    if (!pending) {
      const fresh = Promise.resolve().then(() => collector.refresh());
      this.inFlight.set(collector, fresh);
      const clear = (): void => {
        if (this.inFlight.get(collector) === fresh) this.inFlight.delete(collector);
      };
      fresh.then(clear, clear);
      pending = fresh;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RefreshTimeoutError(collector.name, this.timeoutMs)), this.timeoutMs);
    });
    try {
      await Promise.race([pending, timeout]);
      this.success.set({ collector: collector.name }, 1);
    } catch (err: unknown) {
      this.success.set({ collector: collector.name }, 0);
      log("warn", "collector refresh failed", {
        collector: collector.name,
        error: err instanceof Error ? err.message : String(err),
      });
    } finally {
      clearTimeout(timer);
      this.duration.set({ collector: collector.name }, (performance.now() - started) / 1000);
    }
  }
}

/**
 * Starts the exporter's HTTP server: /metrics (refreshes every collector, then serializes the
 * registry), /-/healthy, /-/ready; GET and HEAD only; anything else 404. The CLI, the tests,
 * the benchmark and the end-to-end suite all start the exporter through this function.
 */
export async function startExporter(options: ExporterOptions): Promise<RunningExporter> {
  const registry = options.registry ?? new Registry();
  const bind = options.bind ?? DEFAULT_BIND;
  const refreshTimeoutMs = options.refreshTimeoutMs ?? DEFAULT_REFRESH_TIMEOUT_MS;
  const defaultMetrics = (options.defaultMetrics ?? true) ? registerDefaultMetrics(registry) : undefined;
  const scrapeDuration = new Gauge({
    name: exporterSelf.ds01_exporter_scrape_duration_seconds.name,
    help: exporterSelf.ds01_exporter_scrape_duration_seconds.help,
    registers: [registry],
  });
  for (const collector of options.collectors) collector.register(registry);
  const refresher = new RefreshRound(options.collectors, refreshTimeoutMs, registry);

  let isReady = false;
  const collectGarbage = options.collectGarbage ?? exposedGc();
  const ready = refresher.run().then(() => {
    isReady = true;
    // The first round parses every source whole (a state file of thousands of allocations, a
    // log of a million events) and leaves a heap grown to hold that and its garbage; V8 keeps
    // the room it grew into while scrapes keep allocating. One full collection here hands it
    // back: about 3 MB, 5% of the exporter's resident memory (docs/performance.md). After this
    // tick, so a scrape that waited for the round is answered first.
    if (collectGarbage) setImmediate(collectGarbage);
  });

  // Scrapes that arrive while a page is being produced get that page: under many concurrent
  // scrapers the exporter refreshes and serializes once per round, not once per request.
  let pendingPage: Promise<Array<string | Buffer>> | undefined;
  const producePage = (): Promise<Array<string | Buffer>> => {
    pendingPage ??= (async () => {
      const started = performance.now();
      await refresher.run();
      // Set before serializing so the page reports its own refresh time.
      scrapeDuration.set((performance.now() - started) / 1000);
      return renderMetrics(registry);
    })().finally(() => {
      pendingPage = undefined;
    });
    return pendingPage;
  };

  const serveMetrics = async (res: ServerResponse, head: boolean): Promise<void> => {
    const pieces = await producePage();
    if (head) {
      res.writeHead(200, { "Content-Type": registry.contentType, "Cache-Control": "no-store" });
      res.end();
      return;
    }
    res.writeHead(200, { "Content-Type": registry.contentType, "Cache-Control": "no-store", "Content-Length": byteLength(pieces) });
    // Corked, the pieces leave in one writev; prerendered families are written from their own buffers, uncopied.
    res.cork();
    for (const piece of pieces) res.write(piece);
    res.end();
    res.uncork();
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const [path = "/", search = ""] = (req.url ?? "/").split("?", 2);
    const route = options.routes && Object.hasOwn(options.routes, path) ? options.routes[path] : undefined;
    const known = path === "/metrics" || path === "/-/healthy" || path === "/-/ready" || route !== undefined;
    if (!known) return text(res, 404, "Not Found\n");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return text(res, 405, "Method Not Allowed\n");
    }
    const head = req.method === "HEAD";
    if (path === "/-/healthy") return text(res, 200, "OK\n", head);
    if (path === "/-/ready") return isReady ? text(res, 200, "Ready\n", head) : text(res, 503, "Not ready\n", head);
    if (route) {
      const answer = route(new URLSearchParams(search));
      res.writeHead(answer.status, { "Content-Type": answer.contentType, "Cache-Control": "no-store" });
      res.end(head ? undefined : answer.body);
      return;
    }
    serveMetrics(res, head).catch((err: unknown) => {
      log("error", "metrics serialization failed", { error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) text(res, 500, "metrics unavailable\n");
      else res.destroy();
    });
  };

  const server = createBoundedServer(handle, options.httpLimits ?? DEFAULT_HTTP_LIMITS);
  const port = await listen(server.listener, options.port ?? DEFAULT_METRICS_PORT, bind);
  const host = bind.includes(":") ? `[${bind}]` : bind;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host === "[::]" ? "[::1]" : host}:${port}`;
  log("info", "exporter listening", { url, collectors: options.collectors.map((c) => c.name).join(",") });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await server.close();
      await Promise.allSettled(options.collectors.map((c) => c.close()));
      await Promise.allSettled((options.onClose ?? []).map((fn) => fn()));
      defaultMetrics?.close();
    })();
    return closing;
  };
  return { url, port, registry, ready, close };
}

/** node's full garbage collection, if the runtime exposes it (`--expose-gc`). */
export function exposedGc(): (() => void) | undefined {
  const gc: unknown = (globalThis as { gc?: unknown }).gc;
  return typeof gc === "function" ? () => void (gc as () => unknown)() : undefined;
}

function text(res: ServerResponse, status: number, body: string, head = false): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(head ? undefined : body);
}

/** Listens and resolves with the bound port, or rejects (EADDRINUSE, EACCES) without leaking the server. */
export function listen(server: Server, port: number, bind: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once("error", onError);
    server.listen(port, bind, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
