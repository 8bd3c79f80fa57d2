import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { Duplex } from "node:stream";

/** What one exporter HTTP server allows a client; every bound is what keeps memory flat under hostile clients. */
export interface HttpLimits {
  /** Open connections at once; more are closed on accept. */
  readonly maxConnections: number;
  /** Requests in a row a connection may send before reading the previous answer; past it the connection is closed. */
  readonly maxPipelined: number;
  /** Time to receive a request's headers. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request. */
  readonly requestTimeoutMs: number;
  /** Time a kept-alive connection may sit idle between requests. */
  readonly keepAliveTimeoutMs: number;
  /** Time a socket may make no progress at all (a client that stops reading its answer). */
  readonly idleTimeoutMs: number;
}

/**
 * Prometheus opens one connection per target and never pipelines, so these leave room for an
 * HA pair, people with curl and a few dashboards while keeping the worst case at
 * maxConnections x (one page + one read buffer).
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxConnections: 64,
  maxPipelined: 16,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
};

const HEADERS_END = Buffer.from("\r\n\r\n");

/**
 * Sits between a TCP connection and Node's HTTP parser and hands the parser one request at a
 * time: bytes up to the end of the next header block, then nothing until `release()` says the
 * answer has left the process. Node parses every request in a 64 KiB read at once and buffers
 * each pipelined answer in memory while the client does not read; here a client that pipelines
 * thousands of requests and never reads holds one read buffer and one page, and the rest of its
 * requests stay in its own kernel buffers.
 */
export class OneRequestGate extends Duplex {
  /** Bytes read from the connection that the parser has not been given yet. */
  private held: Buffer | undefined;
  /** The parser may be given bytes: no request is being answered. */
  private open = true;
  /** Last bytes given to the parser, to find a header end split across reads. */
  private tail: Buffer = Buffer.alloc(0);
  /** Requests in a row that were already waiting when the previous answer left. */
  private pipelined = 0;

  constructor(
    private readonly raw: Socket,
    private readonly maxPipelined: number,
  ) {
    super({ allowHalfOpen: false });
    raw.on("data", (chunk: Buffer) => this.receive(chunk));
    raw.on("end", () => this.push(null));
    raw.on("close", () => this.destroy());
    raw.on("error", (err) => this.destroy(err));
  }

  /** The answer to the last request has left: give the parser the next one. */
  release(): void {
    if (this.destroyed) return;
    this.open = true;
    const held = this.held;
    this.held = undefined;
    // A client that keeps sending before it reads would have the exporter answer it in a
    // tight loop, starving everyone else; Prometheus never does this.
    this.pipelined = held ? this.pipelined + 1 : 0;
    if (this.pipelined > this.maxPipelined) {
      this.destroy();
      return;
    }
    if (held) this.receive(held);
    else this.raw.resume();
  }

  private receive(chunk: Buffer): void {
    if (!this.open) {
      this.held = this.held ? Buffer.concat([this.held, chunk]) : chunk;
      this.raw.pause();
      return;
    }
    const end = headerEnd(this.tail, chunk);
    if (end < 0) {
      this.tail = chunk.subarray(Math.max(0, chunk.length - 3));
      this.push(chunk);
      return;
    }
    // One header block goes on; the parser will emit one request, answered before the rest.
    this.open = false;
    this.tail = Buffer.alloc(0);
    const rest = chunk.subarray(end);
    if (rest.length > 0) {
      this.held = rest;
      this.raw.pause();
    }
    this.push(chunk.subarray(0, end));
  }

  override _read(): void {
    // Flow is driven by receive() and release(); the raw socket's own buffering bounds it.
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.raw.write(chunk, encoding, done);
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, done: (err?: Error | null) => void): void {
    this.raw.cork();
    chunks.forEach(({ chunk, encoding }, i) => this.raw.write(chunk, encoding, i === chunks.length - 1 ? done : undefined));
    this.raw.uncork();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.raw.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.held = undefined;
    this.raw.destroy();
    done(err);
  }
}

/** Offset just past the first CRLF CRLF in `tail + chunk`, as an offset into chunk; -1 if none. */
function headerEnd(tail: Buffer, chunk: Buffer): number {
  if (tail.length > 0) {
    const joined = Buffer.concat([tail, chunk.subarray(0, 3)]);
    const at = joined.indexOf(HEADERS_END);
    if (at >= 0) return at + HEADERS_END.length - tail.length;
  }
  const at = chunk.indexOf(HEADERS_END);
  return at < 0 ? -1 : at + HEADERS_END.length;
}

export interface BoundedServer {
  /** The TCP listener: listen on it, close it. */
  readonly listener: NetServer;
  /** The HTTP side (parsers, request handling); it does not listen itself. */
  readonly http: HttpServer;
  /** Stops accepting and ends every open connection. */
  close(): Promise<void>;
}

/**
 * An HTTP server with the limits applied: connection cap, header, request, keep-alive and idle
 * timeouts, and one request at a time per connection (see OneRequestGate). Requests that are
 * neither GET nor HEAD get their answer and the connection closed, so a request body never has
 * to be read past.
 */
export function createBoundedServer(handler: RequestListener, limits: HttpLimits = DEFAULT_HTTP_LIMITS): BoundedServer {
  const http = createHttpServer(
    // Timeouts are checked on this interval; Node's default (30 s) would let a header trickle run long past its bound.
    { connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs) },
    (req, res) => {
      const gate = req.socket as unknown as OneRequestGate;
      if (req.method !== "GET" && req.method !== "HEAD") res.shouldKeepAlive = false;
      res.once("finish", () => {
        if (gate.writableNeedDrain) gate.once("drain", () => gate.release());
        else gate.release();
      });
      handler(req, res);
    },
  );
  http.headersTimeout = limits.headersTimeoutMs;
  http.requestTimeout = limits.requestTimeoutMs;
  http.keepAliveTimeout = limits.keepAliveTimeoutMs;

  // Connections handed to the parser by 'connection' are not all in http's own list, so
  // closeAllConnections alone would leave a keep-alive client holding close() open until it idles out.
  const open = new Set<Socket>();
  const listener = createNetServer((raw) => {
    open.add(raw);
    raw.once("close", () => open.delete(raw));
    raw.setTimeout(limits.idleTimeoutMs, () => raw.destroy());
    raw.on("error", () => raw.destroy());
    http.emit("connection", new OneRequestGate(raw, limits.maxPipelined));
  });
  listener.maxConnections = limits.maxConnections;

  return {
    listener,
    http,
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve());
        http.closeAllConnections();
        for (const raw of open) raw.destroy();
      }),
  };
}
