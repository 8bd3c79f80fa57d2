import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** How the fake engine answers a request; return undefined to fall through to the default. */
export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * A stand-in for the Docker engine on a unix socket in a temp dir: the tests swap its handler
 * to make it slow, fail, or talk nonsense, which a real engine cannot be made to do.
 */
export class FakeEngine {
  handler: Handler = () => undefined;
  readonly requests: string[] = [];
  private readonly open = new Set<http.ServerResponse>();
  private constructor(
    readonly dir: string,
    readonly socketPath: string,
    private readonly server: http.Server,
  ) {}

  static async start(): Promise<FakeEngine> {
    const dir = await mkdtemp(path.join(tmpdir(), "ds01-fake-engine-"));
    const socketPath = path.join(dir, "docker.sock");
    let engine: FakeEngine | undefined;
    const server = http.createServer((req, res) => {
      engine!.requests.push(req.url ?? "");
      engine!.open.add(res);
      res.on("close", () => engine!.open.delete(res));
      engine!.handler(req, res);
    });
    engine = new FakeEngine(dir, socketPath, server);
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return engine;
  }

  /** Ends every open response, event streams included. */
  dropConnections(): void {
    for (const res of this.open) res.destroy();
    this.open.clear();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Serves a healthy engine with the given inspect bodies; the event stream stays open and quiet. */
export function healthyEngine(containers: Record<string, unknown>): Handler {
  return (req, res) => {
    const url = req.url ?? "";
    if (url.startsWith("/events")) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      return;
    }
    if (url.startsWith("/containers/json")) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(Object.keys(containers).map((Id) => ({ Id }))));
      return;
    }
    const m = /^\/containers\/([^/]+)\/json/.exec(url);
    if (m && containers[decodeURIComponent(m[1]!)] !== undefined) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(containers[decodeURIComponent(m[1]!)]));
      return;
    }
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end('{"message":"No such container"}');
  };
}
