import http from "node:http";

/**
 * A minimal Docker Engine API client over the engine's unix socket, with node:http only.
 * Every call is bounded in time and in response size, so a slow or misbehaving socket costs
 * a failed read, never a hung or bloated exporter.
 */
export interface DockerApiOptions {
  readonly socketPath: string;
  /** Per request, headers and body. */
  readonly timeoutMs?: number;
  /** Largest JSON response accepted. */
  readonly maxResponseBytes?: number;
  /** API version prefix, e.g. "v1.41"; unset uses the engine's own. */
  readonly apiVersion?: string;
}

export class DockerApiError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
  }
}

export interface EventStream {
  /** Settles when the stream ends or fails; never rejects. */
  readonly done: Promise<Error>;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_RESPONSE = 64 * 1024 * 1024;
/** An engine event is a few KB; a line longer than this means the stream is not what we think. */
const MAX_EVENT_BYTES = 1024 * 1024;

export class DockerApi {
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly prefix: string;

  constructor(private readonly opts: DockerApiOptions) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
    this.prefix = opts.apiVersion ? `/${opts.apiVersion}` : "";
  }

  /** GET a JSON document. */
  getJson(path: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(err);
      };
      const req = http.request(
        { socketPath: this.opts.socketPath, path: this.prefix + path, method: "GET", agent: this.agent, headers: { Accept: "application/json" } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxBytes) {
              fail(new DockerApiError(`docker ${path}: response over ${this.maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on("error", (err) => fail(new DockerApiError(`docker ${path}: ${err.message}`)));
          res.on("end", () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const body = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              reject(new DockerApiError(`docker ${path}: HTTP ${status} ${body.slice(0, 200).trim()}`, status));
              return;
            }
            try {
              resolve(JSON.parse(body));
            } catch {
              reject(new DockerApiError(`docker ${path}: response is not JSON`));
            }
          });
        },
      );
      const timer = setTimeout(() => fail(new DockerApiError(`docker ${path}: no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
      req.on("error", (err) => {
        clearTimeout(timer);
        fail(new DockerApiError(`docker ${path}: ${err.message}`));
      });
      req.end();
    });
  }

  /**
   * Opens a newline-delimited JSON stream (GET /events). Resolves once the engine answered 200;
   * `onObject` then gets each object. The stream has no timeout once open (events may be hours
   * apart), but an unparseable or oversized line ends it.
   */
  openStream(path: string, onObject: (value: unknown) => void): Promise<EventStream> {
    return new Promise((resolve, reject) => {
      let finish: (err: Error) => void = () => undefined;
      const done = new Promise<Error>((r) => {
        let ended = false;
        finish = (err) => {
          if (ended) return;
          ended = true;
          req.destroy();
          r(err);
        };
      });
      // Streams get their own connection: a long-lived response must not hold a pooled socket.
      const req = http.request({ socketPath: this.opts.socketPath, path: this.prefix + path, method: "GET", agent: false }, (res) => {
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          const err = new DockerApiError(`docker ${path}: HTTP ${status}`, status);
          finish(err);
          reject(err);
          return;
        }
        resolve({ done, close: () => finish(new DockerApiError("event stream closed")) });
        let pending = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf("\n")) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line.length === 0) continue;
            let value: unknown;
            try {
              value = JSON.parse(line);
            } catch {
              finish(new DockerApiError(`docker ${path}: stream sent a line that is not JSON`));
              return;
            }
            onObject(value);
          }
          if (pending.length > MAX_EVENT_BYTES) finish(new DockerApiError(`docker ${path}: stream line over ${MAX_EVENT_BYTES} bytes`));
        });
        res.on("end", () => finish(new DockerApiError(`docker ${path}: stream ended`)));
        res.on("error", (err) => finish(new DockerApiError(`docker ${path}: ${err.message}`)));
      });
      const timer = setTimeout(() => {
        const err = new DockerApiError(`docker ${path}: no answer within ${this.timeoutMs} ms`);
        finish(err);
        reject(err);
      }, this.timeoutMs);
      timer.unref();
      req.on("error", (err) => {
        clearTimeout(timer);
        const wrapped = new DockerApiError(`docker ${path}: ${err.message}`);
        finish(wrapped);
        reject(wrapped);
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
