import { execFile, spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface EngineReply {
  readonly status: number;
  readonly body: unknown;
}

/** One call to the Engine API on `socketPath`, bounded by `timeoutMs` (image imports and builds need longer). */
export function engine(socketPath: string, method: string, urlPath: string, body?: unknown, raw?: Buffer, timeoutMs = 30_000): Promise<EngineReply> {
  return new Promise((resolve, reject) => {
    const payload = raw ?? (body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
    const req = http.request(
      {
        socketPath,
        method,
        path: urlPath,
        headers: payload ? { "Content-Type": raw ? "application/x-tar" : "application/json", "Content-Length": payload.length } : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // plain-text answers (ping, image import progress) stay text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** A Docker engine of our own, everything in a temp dir, no network changes; stopped by its PID. */
export class Dockerd {
  private constructor(
    readonly dir: string,
    readonly socketPath: string,
    private readonly child: ChildProcess,
  ) {}

  /**
   * Starts dockerd, or returns the reason it cannot run here. `pathPrefix` goes first on its PATH
   * (dockerd registers its NVIDIA device driver only when it finds the toolkit's hook there).
   */
  static async start(opts: { readonly pathPrefix?: string } = {}): Promise<Dockerd | string> {
    if (!existsSync("/usr/sbin/dockerd") && !existsSync("/usr/bin/dockerd")) return "dockerd is not installed";
    if (process.getuid?.() !== 0) return "dockerd needs root";
    const dir = await mkdtemp(path.join(tmpdir(), "ds01-dockerd-"));
    const socketPath = path.join(dir, "docker.sock");
    const logPath = path.join(dir, "dockerd.log");
    const log = openSync(logPath, "a");
    const child = spawn(
      "dockerd",
      [
        "--host",
        `unix://${socketPath}`,
        "--data-root",
        path.join(dir, "data"),
        "--exec-root",
        path.join(dir, "exec"),
        "--pidfile",
        path.join(dir, "dockerd.pid"),
        "--bridge=none",
        "--iptables=false",
        "--ip-forward=false",
      ],
      { stdio: ["ignore", log, log], env: opts.pathPrefix ? { ...process.env, PATH: `${opts.pathPrefix}:${process.env.PATH ?? ""}` } : process.env },
    );
    closeSync(log);
    const d = new Dockerd(dir, socketPath, child);
    const exited = new Promise<string>((resolve) => child.once("exit", (code) => resolve(`dockerd exited with ${code}`)));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const ready = await Promise.race([
        engine(socketPath, "GET", "/_ping").then(
          (r) => (r.status === 200 ? "ok" : ""),
          () => "",
        ),
        exited,
      ]);
      if (ready === "ok") return d;
      if (ready.startsWith("dockerd exited")) {
        const tail = (await readFile(logPath, "utf8").catch(() => "")).split("\n").slice(-5).join("\n");
        await rm(dir, { recursive: true, force: true });
        return `${ready}: ${tail}`;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await d.stop();
    return "dockerd did not answer within 60 s";
  }

  /** Imports a one-file image from a local tarball (nothing can be pulled here). */
  async importImage(repo: string, tag: string): Promise<string> {
    const root = path.join(this.dir, "rootfs");
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, "hello"), "placeholder\n");
    const tarball = path.join(this.dir, "rootfs.tar");
    await run("tar", ["-C", root, "-cf", tarball, "."]);
    const reply = await engine(this.socketPath, "POST", `/images/create?fromSrc=-&repo=${repo}&tag=${tag}`, undefined, await readFile(tarball));
    if (reply.status !== 200) throw new Error(`image import failed: ${JSON.stringify(reply.body)}`);
    return `${repo}:${tag}`;
  }

  /** Creates (does not start) a container; returns its ID. */
  async create(name: string, config: Record<string, unknown>): Promise<string> {
    const reply = await engine(this.socketPath, "POST", `/containers/create?name=${encodeURIComponent(name)}`, { Cmd: ["/hello"], ...config });
    if (reply.status !== 201) throw new Error(`create ${name} failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    return (reply.body as { Id: string }).Id;
  }

  async remove(id: string): Promise<void> {
    const reply = await engine(this.socketPath, "DELETE", `/containers/${id}?force=1`);
    if (reply.status !== 204) throw new Error(`remove ${id} failed: ${reply.status}`);
  }

  async rename(id: string, name: string): Promise<void> {
    const reply = await engine(this.socketPath, "POST", `/containers/${id}/rename?name=${encodeURIComponent(name)}`);
    if (reply.status !== 204) throw new Error(`rename ${id} failed: ${reply.status}`);
  }

  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.child.exitCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
      process.kill(pid, "SIGTERM");
      const killed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
      if (!killed) {
        process.kill(pid, "SIGKILL");
        await exited;
      }
    }
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** An HTTP proxy on its own unix socket that counts the requests reaching the engine behind it. */
export class CountingProxy {
  readonly requests: string[] = [];
  private readonly streams = new Set<http.ServerResponse>();
  private constructor(
    readonly socketPath: string,
    private readonly server: http.Server,
  ) {}

  static async start(dir: string, upstream: string): Promise<CountingProxy> {
    const socketPath = path.join(dir, "proxy.sock");
    let proxy: CountingProxy | undefined;
    const server = http.createServer((req, res) => {
      proxy!.requests.push(`${req.method} ${req.url}`);
      const up = http.request({ socketPath: upstream, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        res.flushHeaders();
        upRes.pipe(res);
      });
      up.on("error", () => res.destroy());
      if ((req.url ?? "").startsWith("/events")) {
        proxy!.streams.add(res);
        res.on("close", () => {
          proxy!.streams.delete(res);
          up.destroy();
        });
      }
      req.pipe(up);
    });
    proxy = new CountingProxy(socketPath, server);
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return proxy;
  }

  count(prefix: string): number {
    return this.requests.filter((r) => r.startsWith(prefix)).length;
  }

  /** Cuts the event streams, as an engine restart would. */
  cutStreams(): void {
    for (const res of this.streams) res.destroy();
    this.streams.clear();
  }

  async stop(): Promise<void> {
    this.cutStreams();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
