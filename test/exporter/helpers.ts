import { spawn } from "node:child_process";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { lookupMetric } from "../../metrics";

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** One bounded HTTP request to loopback. */
export function httpGet(url: string, opts: { method?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? "GET", timeout: opts.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the Prometheus text format (enough of it for our own output), unescaping label values. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? "";
    let i = 0;
    while (i < body.length) {
      const eq = body.indexOf("=", i);
      const key = body.slice(i, eq);
      let j = eq + 2;
      let value = "";
      while (body[j] !== '"') {
        if (body[j] === "\\") {
          const next = body[j + 1];
          value += next === "n" ? "\n" : next;
          j += 2;
        } else value += body[j++];
      }
      labels[key] = value;
      i = j + 1;
      if (body[i] === ",") i++;
    }
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}

export function samples(text: string, name: string, match: Record<string, string> = {}): Sample[] {
  return parseExposition(text).filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

export function value(text: string, name: string, match: Record<string, string> = {}): number | undefined {
  const found = samples(text, name, match);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(match)}`);
  return found[0]?.value;
}

/** Runs `promtool check metrics` on a page; returns its findings minus those on catalog legacy names. */
export function promtoolFindings(page: string, allowed: (name: string) => boolean = isLegacyName): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      resolve(
        out
          .split("\n")
          .filter((l) => l.trim() !== "")
          .filter((l) => !allowed(l.split(" ")[0] ?? "")),
      );
    });
    child.stdin.end(page);
  });
}

export function isLegacyName(name: string): boolean {
  return lookupMetric(name)?.legacyName === true;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback HTTP server whose behaviour the test swaps at will (a stand-in DRM coordinator). */
export class ControlledServer {
  handler: Handler = (_req, res) => res.writeHead(404).end();
  readonly requests: IncomingMessage[] = [];
  private server: Server | undefined;
  url = "";
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push(req);
      this.handler(req, res);
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }
}

/** Polls `check` until it returns true, within `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5_000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
