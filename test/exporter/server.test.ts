import { Gauge, type Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Collector } from "../../exporter/core/collector";
import { setLogSink } from "../../exporter/core/log";
import { exposedGc, startExporter, type RunningExporter } from "../../exporter/core/server";
import { httpGet, parseExposition, promtoolFindings, samples, value } from "./helpers";

const TRICKY = ['quote"inside', "back\\slash", "new\nline", "ünïcødé ✓ 日本", "trailing\\"];

/** A collector whose gauge carries label values that need escaping. */
function labelCollector(): Collector {
  const g = new Gauge({ name: "ds01_user_containers_count", help: "test", labelNames: ["user"], registers: [] });
  return {
    name: "labels",
    register(r: Registry) {
      r.registerMetric(g);
    },
    async refresh() {
      TRICKY.forEach((u, i) => g.set({ user: u }, i + 1));
    },
    async close() {},
  };
}

describe("exporter HTTP server", () => {
  let exporter: RunningExporter;
  let restoreLog: () => void;
  let release: (() => void) | undefined;
  const collections: number[] = [];

  beforeAll(async () => {
    restoreLog = setLogSink(() => {});
    // The first refresh round waits on `release`, so /-/ready can be seen going from 503 to 200.
    const gate = new Promise<void>((r) => (release = r));
    let first = true;
    const gated: Collector = {
      name: "gated",
      register() {},
      async refresh() {
        if (first) {
          first = false;
          await gate;
        }
      },
      async close() {},
    };
    exporter = await startExporter({ collectors: [labelCollector(), gated], port: 0, collectGarbage: () => collections.push(performance.now()) });
  });
  afterAll(async () => {
    release?.();
    await exporter.close();
    restoreLog();
  });

  it("listens on loopback by default and reports ready only after the first refresh round", async () => {
    expect(exporter.url).toBe(`http://127.0.0.1:${exporter.port}`);
    expect((await httpGet(`${exporter.url}/-/healthy`)).status).toBe(200);
    expect((await httpGet(`${exporter.url}/-/ready`)).status).toBe(503);
    expect(collections).toEqual([]);
    release?.();
    await exporter.ready;
    expect((await httpGet(`${exporter.url}/-/ready`)).status).toBe(200);
    // One full collection after the first round, and none for the rounds of later scrapes.
    await httpGet(`${exporter.url}/metrics`);
    await httpGet(`${exporter.url}/metrics`);
    expect(collections).toHaveLength(1);
  });

  it("answers 404 for other paths and 405 for other methods", async () => {
    for (const p of ["/", "/metric", "/metrics/x", "/-/reload", "/../etc/passwd", "/%00"]) {
      expect((await httpGet(`${exporter.url}${p}`)).status, p).toBe(404);
    }
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const res = await httpGet(`${exporter.url}/metrics`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe("GET, HEAD");
    }
    const head = await httpGet(`${exporter.url}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    expect((await httpGet(`${exporter.url}/metrics?debug=1`)).status).toBe(200);
  });

  it("serves scrape duration, per-collector status and process metrics; output passes promtool", async () => {
    const res = await httpGet(`${exporter.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    const duration = value(res.body, "ds01_exporter_scrape_duration_seconds");
    expect(duration).toBeGreaterThanOrEqual(0);
    expect(duration).toBeLessThan(5);
    expect(value(res.body, "ds01_exporter_collector_success", { collector: "labels" })).toBe(1);
    expect(value(res.body, "process_resident_memory_bytes")).toBeGreaterThan(1e6);
    expect(samples(res.body, "nodejs_active_handles_total")).toHaveLength(0);
    expect(await promtoolFindings(res.body)).toEqual([]);
  });

  it("escapes label values so they round-trip through the text format", async () => {
    const res = await httpGet(`${exporter.url}/metrics`);
    const users = samples(res.body, "ds01_user_containers_count").map((s) => [s.labels.user, s.value]);
    expect(new Map(users as [string, number][])).toEqual(new Map(TRICKY.map((u, i) => [u, i + 1])));
    // A raw newline inside a label would have split a sample over two lines.
    expect(() => parseExposition(res.body)).not.toThrow();
  });
});

describe("collectors that misbehave", () => {
  let restoreLog: () => void;
  afterEach(() => restoreLog());

  it("a collector that throws or hangs is reported and never breaks the scrape", async () => {
    const lines: string[] = [];
    restoreLog = setLogSink((l) => lines.push(l));
    const healthy = labelCollector();
    let hangCalls = 0;
    const throwing: Collector = {
      name: "throws",
      register() {},
      refresh: async () => {
        throw new Error("collector exploded");
      },
      close: async () => {},
    };
    const hanging: Collector = {
      name: "hangs",
      register() {},
      refresh: () => {
        hangCalls++;
        return new Promise<void>(() => {});
      },
      close: async () => {},
    };
    const exporter = await startExporter({ collectors: [healthy, throwing, hanging], port: 0, refreshTimeoutMs: 150 });
    try {
      await exporter.ready;
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: 5 }, () => httpGet(`${exporter.url}/metrics`)));
      // Bounded by the 150 ms refresh timeout, not by the hung collector; loose for a loaded machine.
      expect(Date.now() - started).toBeLessThan(10_000);
      for (const res of results) {
        expect(res.status).toBe(200);
        expect(value(res.body, "ds01_exporter_collector_success", { collector: "throws" })).toBe(0);
        expect(value(res.body, "ds01_exporter_collector_success", { collector: "hangs" })).toBe(0);
        expect(value(res.body, "ds01_exporter_collector_success", { collector: "labels" })).toBe(1);
        expect(samples(res.body, "ds01_user_containers_count")).toHaveLength(TRICKY.length);
      }
      // A hung refresh is waited on again, not started again on every scrape.
      expect(hangCalls).toBe(1);
      expect((await httpGet(`${exporter.url}/-/healthy`)).status).toBe(200);
      expect(lines.some((l) => l.includes("collector exploded"))).toBe(true);
    } finally {
      await exporter.close();
    }
  });

  it("fails to start with a clear error when the port is taken", async () => {
    restoreLog = setLogSink(() => {});
    const first = await startExporter({ collectors: [], port: 0 });
    try {
      await expect(startExporter({ collectors: [], port: first.port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});

describe("exporter HTTP server shutdown", () => {
  it("close() ends a client's idle keep-alive connection at once instead of waiting for it to time out", async () => {
    const { Agent, get } = await import("node:http");
    const exporter = await startExporter({ collectors: [labelCollector()], port: 0 });
    await exporter.ready;
    const agent = new Agent({ keepAlive: true });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        get(`${exporter.url}/-/healthy`, { agent }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        }).on("error", reject);
      });
      expect(status).toBe(200);
      expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
      const started = Date.now();
      await exporter.close();
      // The keep-alive timeout is 5 s; before this bound close() waited about 4 s for the idle socket.
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      agent.destroy();
    }
  });
});

describe("exposedGc", () => {
  it("calls node's gc() when the runtime exposes it, and is absent otherwise", () => {
    const holder = globalThis as { gc?: unknown };
    const saved = holder.gc;
    try {
      let calls = 0;
      holder.gc = () => void calls++;
      exposedGc()?.();
      expect(calls).toBe(1);
      delete holder.gc;
      expect(exposedGc()).toBeUndefined();
    } finally {
      if (saved !== undefined) holder.gc = saved;
    }
  });
});
