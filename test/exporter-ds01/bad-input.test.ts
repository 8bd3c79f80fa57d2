import { execFile } from "node:child_process";
import { appendFile, mkdir, mkdtemp, rename, rm, truncate, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { sourceTracker } from "../../exporter/core/tracker";
import { ds01 } from "../../metrics";
import { createDs01Collector } from "../../exporter/ds01/collector";
import { createDockerSource } from "../../exporter/ds01/docker-source";
import { createEventsLog, type EventsLog } from "../../exporter/ds01/events-log";
import { createStateDirSource } from "../../exporter/ds01/state-dir-source";
import { createStateFileSource } from "../../exporter/ds01/state-file-source";
import { FakeEngine, healthyEngine } from "./support/fake-engine";
import { find, Harness, value, type Sample } from "./support/metrics-text";

const run = promisify(execFile);
const MB = 1024 * 1024;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "ds01-bad-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const GOOD_STATE = {
  gpus: {
    "0": { type: "physical_gpu", containers: [{ container: "thesis._.1001", user: "alice", interface: "orchestration" }] },
    "1": { type: "physical_gpu", containers: [] },
  },
  mig_enabled: false,
};

const eventLine = (type: string, t = Date.now() - 1000) => JSON.stringify({ timestamp: new Date(t).toISOString(), event_type: type }) + "\n";

/** State file + events log + state dir feeding one collector, all healthy to begin with. */
async function fileSetup(opts: { stateMaxBytes?: number; writeState?: boolean; writeEvents?: boolean } = {}) {
  const dir = await tempDir();
  const stateFile = path.join(dir, "gpu-state.json");
  const eventsFile = path.join(dir, "events.jsonl");
  const stateDir = path.join(dir, "state");
  await mkdir(stateDir);
  if (opts.writeState !== false) await writeFile(stateFile, JSON.stringify(GOOD_STATE));
  if (opts.writeEvents !== false) await writeFile(eventsFile, eventLine("gpu.allocate") + eventLine("container.start"));
  const events = createEventsLog({ path: eventsFile });
  const collector = createDs01Collector({
    snapshot: createStateFileSource({ path: stateFile, maxBytes: opts.stateMaxBytes }),
    events,
    stateDir: createStateDirSource({ path: stateDir }),
    version: "test",
    sourceTimeoutMs: 2000,
  });
  const h = new Harness(collector);
  cleanups.push(() => collector.close());
  return { dir, stateFile, eventsFile, events, h };
}

/** The exporter stayed up: a scrape renders, with the info series and the self-reports. */
function assertServing(samples: Sample[]): void {
  expect(value(samples, "ds01_exporter_info", { version: "test" })).toBe(1);
  expect(find(samples, "ds01_exporter_source_up").length).toBeGreaterThan(0);
}

function expectUp(samples: Sample[], expected: Record<string, 0 | 1>): void {
  for (const [source, up] of Object.entries(expected)) expect(value(samples, "ds01_exporter_source_up", { source }), source).toBe(up);
}

const aliceKept = (s: Sample[]) => expect(value(s, "ds01_gpu_allocated", { gpu_slot: "0", container: "thesis._.1001", user: "alice" })).toBe(1);

describe("bad state file", () => {
  const breakages: Array<[string, (file: string) => Promise<void>]> = [
    ["deleted", (f) => unlink(f)],
    ["replaced by a directory (unreadable)", async (f) => {
      await unlink(f);
      await mkdir(f);
    }],
    ["truncated mid-document", async (f) => writeFile(f, JSON.stringify(GOOD_STATE).slice(0, 40))],
    ["empty", async (f) => writeFile(f, "")],
    ["binary garbage, not JSON", async (f) => writeFile(f, Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80, 0x22]))],
    ["wrong types: containers is a string", async (f) => writeFile(f, JSON.stringify({ gpus: { "0": { containers: "alice" } } }))],
    ["wrong types: user is a number", async (f) => writeFile(f, JSON.stringify({ gpus: { "0": { containers: [{ container: "c", user: 7 }] } } }))],
    ["wrong shape: top level is an array", async (f) => writeFile(f, "[1,2,3]")],
    ["bad slot key", async (f) => writeFile(f, JSON.stringify({ gpus: { "gpu-zero": { containers: [] } } }))],
  ];
  for (const [what, breakIt] of breakages) {
    it(`${what}: state_file down, last allocations kept, other sources up`, async () => {
      const { stateFile, h } = await fileSetup();
      const good = (await h.scrape()).samples;
      expectUp(good, { state_file: 1, events: 1, state_dir: 1 });
      aliceKept(good);
      await breakIt(stateFile);
      const bad = (await h.scrape()).samples;
      assertServing(bad);
      expectUp(bad, { state_file: 0, events: 1, state_dir: 1 });
      aliceKept(bad);
      expect(value(bad, "ds01_exporter_source_errors_total", { source: "state_file" })).toBe(1);
    });
  }

  it("huge: refused unread above the size limit, last values kept", async () => {
    const { stateFile, h } = await fileSetup({ stateMaxBytes: 64 * 1024 });
    aliceKept((await h.scrape()).samples);
    const padded = { ...GOOD_STATE, padding: "x".repeat(2 * MB) };
    await writeFile(stateFile, JSON.stringify(padded));
    const bad = (await h.scrape()).samples;
    expectUp(bad, { state_file: 0, events: 1 });
    aliceKept(bad);
    expect(sourceTracker(h.registry).status("state_file")?.lastError).toMatch(/over the 65536 limit/);
  });

  it("missing from the start: state_file down, nothing allocated, the rest served", async () => {
    const { h } = await fileSetup({ writeState: false });
    const s = (await h.scrape()).samples;
    assertServing(s);
    expectUp(s, { state_file: 0, events: 1, state_dir: 1 });
    expect(find(s, "ds01_gpu_allocated")).toHaveLength(0);
    expect(value(s, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(1);
  });

  it("recovers when a broken file is fixed, publishing the new allocations", async () => {
    const { stateFile, h } = await fileSetup();
    await h.scrape();
    await writeFile(stateFile, "{not json");
    expectUp((await h.scrape()).samples, { state_file: 0 });
    const fixed = structuredClone(GOOD_STATE) as { gpus: Record<string, { containers: unknown[] }> };
    fixed.gpus["1"]!.containers.push({ container: "bob-run", user: "bob", interface: "api" });
    await writeFile(stateFile, JSON.stringify(fixed));
    const s = (await h.scrape()).samples;
    expectUp(s, { state_file: 1 });
    expect(value(s, "ds01_gpu_allocated", { gpu_slot: "1", user: "bob" })).toBe(1);
    aliceKept(s);
  });
});

describe("bad events log", () => {
  async function countsAfter(lines: Array<string | Buffer>): Promise<{ samples: Sample[]; events: EventsLog }> {
    const { eventsFile, events, h } = await fileSetup({ writeEvents: false });
    await writeFile(eventsFile, Buffer.concat(lines.map((l) => (typeof l === "string" ? Buffer.from(l) : l))));
    const samples = (await h.scrape()).samples;
    assertServing(samples);
    return { samples, events };
  }

  it("skips bad timestamps and counts the rest exactly", async () => {
    const t = (ts: unknown) => JSON.stringify({ timestamp: ts, event_type: "gpu.allocate" }) + "\n";
    const { samples, events } = await countsAfter([
      eventLine("gpu.allocate"),
      t(1735689600),
      t("yesterday"),
      t("2026-01-01T10:00:00"), // no zone: ambiguous
      t("2026-13-45T10:00:00Z"),
      t(new Date(Date.now() + 48 * 3600_000).toISOString()), // far future
      JSON.stringify({ event_type: "gpu.allocate" }) + "\n",
      eventLine("gpu.allocate"),
    ]);
    expectUp(samples, { events: 1, state_file: 1 });
    expect(value(samples, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(2);
    expect(events.stats.badTimestamp).toBe(6);
  });

  it("skips invalid UTF-8 lines", async () => {
    const bad = Buffer.concat([Buffer.from('{"timestamp":"' + new Date().toISOString() + '","event_type":"gpu.'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]);
    const { samples, events } = await countsAfter([eventLine("gpu.release"), bad, Buffer.from([0xff, 0xff, 0x0a]), eventLine("gpu.release")]);
    expectUp(samples, { events: 1 });
    expect(value(samples, "ds01_events_24h_total", { event_type: "gpu.release" })).toBe(2);
    expect(events.stats.invalidUtf8).toBe(2);
  });

  it("skips non-JSON lines, arrays, and bad event types; tolerates CRLF and blank lines", async () => {
    const { samples, events } = await countsAfter([
      "not json at all\n",
      "[1,2]\n",
      JSON.stringify({ timestamp: new Date().toISOString(), event_type: 42 }) + "\n",
      JSON.stringify({ timestamp: new Date().toISOString(), event_type: 'x"}\n{' }) + "\n",
      "\n\n",
      eventLine("container.stop").replace("\n", "\r\n"),
      eventLine("container.stop"),
    ]);
    expectUp(samples, { events: 1 });
    expect(value(samples, "ds01_events_24h_total", { event_type: "container.stop" })).toBe(2);
    expect(events.stats.notJson).toBe(2);
    expect(events.stats.badEventType).toBe(2);
  });

  it("skips a 10 MB line without holding it, and counts the lines around it", async () => {
    const huge = JSON.stringify({ timestamp: new Date().toISOString(), event_type: "gpu.allocate", details: "x".repeat(10 * MB) }) + "\n";
    const { samples, events } = await countsAfter([eventLine("gpu.allocate"), huge, eventLine("gpu.allocate")]);
    expectUp(samples, { events: 1 });
    expect(value(samples, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(2);
    expect(events.stats.oversized).toBe(1);
  });

  it("skips a 10 MB line that arrives across several reads", async () => {
    const { eventsFile, events, h } = await fileSetup({ writeEvents: false });
    await writeFile(eventsFile, eventLine("a.b") + '{"timestamp":"' + "y".repeat(5 * MB));
    expectUp((await h.scrape()).samples, { events: 1 });
    await appendFile(eventsFile, "z".repeat(5 * MB));
    await h.scrape();
    await appendFile(eventsFile, '"}\n' + eventLine("a.b"));
    const s = (await h.scrape()).samples;
    expectUp(s, { events: 1 });
    expect(value(s, "ds01_events_24h_total", { event_type: "a.b" })).toBe(2);
    expect(events.stats.oversized).toBe(1);
  });

  it("survives truncation mid-run: counted events stay, new ones are read from the start", async () => {
    const { eventsFile, events, h } = await fileSetup();
    expect(value((await h.scrape()).samples, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(1);
    await truncate(eventsFile, 0);
    await appendFile(eventsFile, eventLine("gpu.allocate"));
    const s = (await h.scrape()).samples;
    expectUp(s, { events: 1 });
    expect(value(s, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(2);
    expect(value(s, "ds01_events_24h_total", { event_type: "container.start" })).toBe(1);
    expect(events.stats.truncations).toBe(1);
  });

  it("survives rotation mid-run: drains the old file's tail, then reads the new one", async () => {
    const { eventsFile, events, h } = await fileSetup();
    await h.scrape();
    await rename(eventsFile, eventsFile + ".1");
    await appendFile(eventsFile + ".1", eventLine("gpu.allocate")); // written just before the writer reopened
    await writeFile(eventsFile, eventLine("gpu.allocate") + eventLine("maintenance.idle_kill"));
    const s = (await h.scrape()).samples;
    expectUp(s, { events: 1 });
    expect(value(s, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(3);
    expect(value(s, "ds01_events_24h_total", { event_type: "maintenance.idle_kill" })).toBe(1);
    expect(events.stats.rotations).toBe(1);
  });

  it("stays up while the rotated log has not been recreated yet", async () => {
    const { eventsFile, h } = await fileSetup();
    await h.scrape();
    await rename(eventsFile, eventsFile + ".1");
    const gap = (await h.scrape()).samples;
    expectUp(gap, { events: 1 });
    expect(value(gap, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(1);
    await writeFile(eventsFile, eventLine("gpu.allocate"));
    expect(value((await h.scrape()).samples, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(2);
  });

  it("missing log: events down, the other sources up", async () => {
    const { h } = await fileSetup({ writeEvents: false });
    const s = (await h.scrape()).samples;
    assertServing(s);
    expectUp(s, { events: 0, state_file: 1, state_dir: 1 });
    aliceKept(s);
  });

  it("log path is a directory: events down, counts from before kept", async () => {
    const { eventsFile, h, events } = await fileSetup();
    await h.scrape();
    await events.close(); // as after a restart of the reader
    await unlink(eventsFile);
    await mkdir(eventsFile);
    const s = (await h.scrape()).samples;
    expectUp(s, { events: 0, state_file: 1 });
    expect(value(s, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(1);
  });
});

describe("label values that need escaping", () => {
  it("escapes quotes, backslashes and newlines, keeps unicode, and passes promtool's parser", async () => {
    const { stateFile, h } = await fileSetup();
    const user = 'al"ice\\x\nnew';
    const container = "实验-🚀._.1001";
    await writeFile(stateFile, JSON.stringify({ gpus: { "0": { containers: [{ container, user, interface: "atomic" }] } } }));
    const { text, samples } = await h.scrape();
    expectUp(samples, { state_file: 1 });
    expect(text).toContain('user="al\\"ice\\\\x\\nnew"');
    expect(value(samples, "ds01_gpu_allocated", { user, container })).toBe(1);
    expect(value(samples, "ds01_user_containers_count", { user })).toBe(1);
    const dir = path.dirname(stateFile);
    await writeFile(path.join(dir, "metrics.txt"), text);
    const result = await run("sh", ["-c", `promtool check metrics < ${path.join(dir, "metrics.txt")}`]).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );
    // Only lint findings on names the catalog keeps for compatibility are allowed.
    const legacy = Object.values(ds01).filter((m) => m.legacyName).map((m) => m.name);
    const findings = result.split("\n").filter((l) => l.trim() !== "");
    for (const f of findings) expect(legacy.some((n) => f.startsWith(n)), f).toBe(true);
    expect(result).not.toMatch(/error/i);
  });
});

describe("bad Docker engine (fake engine on a unix socket)", () => {
  const INSPECT = {
    c1: {
      Id: "c1",
      Name: "/thesis._.1001",
      Config: { Labels: { "ds01.user": "alice", "ds01.interface": "orchestration" } },
      State: { Status: "running" },
      HostConfig: { DeviceRequests: [{ Driver: "", Count: 0, DeviceIDs: ["GPU-0"], Capabilities: [["gpu"]] }] },
    },
  };

  async function dockerSetup(opts: { start?: boolean; timeoutMs?: number; maxResponseBytes?: number; sourceTimeoutMs?: number } = {}) {
    const engine = await FakeEngine.start();
    cleanups.push(() => engine.stop());
    const dir = await tempDir();
    const map = path.join(dir, "nvidia-smi-L.txt");
    await writeFile(map, "GPU 0: A100 (UUID: GPU-0)\n");
    const eventsFile = path.join(dir, "events.jsonl");
    await writeFile(eventsFile, eventLine("gpu.allocate"));
    engine.handler = healthyEngine(INSPECT);
    const socketPath = opts.start === false ? path.join(dir, "nowhere.sock") : engine.socketPath;
    const docker = createDockerSource({
      socketPath,
      deviceMapFile: map,
      requestTimeoutMs: opts.timeoutMs ?? 300,
      minBackoffMs: 50,
      maxResponseBytes: opts.maxResponseBytes,
    });
    const collector = createDs01Collector({
      snapshot: docker,
      events: createEventsLog({ path: eventsFile }),
      version: "test",
      sourceTimeoutMs: opts.sourceTimeoutMs ?? 3000,
    });
    cleanups.push(() => collector.close());
    const h = new Harness(collector);
    return { engine, h };
  }

  /** Healthy first, then the engine turns bad and the stream drops, so the source must go back to it. */
  async function turnsBad(handler: FakeEngine["handler"], sourceTimeoutMs?: number) {
    const { engine, h } = await dockerSetup({ sourceTimeoutMs });
    const good = (await h.scrape()).samples;
    expectUp(good, { docker: 1 });
    aliceKept(good);
    engine.handler = handler;
    engine.dropConnections();
    await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    const bad = (await h.scrape()).samples;
    const took = Date.now() - started;
    assertServing(bad);
    expectUp(bad, { docker: 0, events: 1 });
    aliceKept(bad);
    return { bad, took, engine, h };
  }

  it("socket missing: docker down, events up", async () => {
    const { h } = await dockerSetup({ start: false });
    const s = (await h.scrape()).samples;
    assertServing(s);
    expectUp(s, { docker: 0, events: 1 });
    expect(sourceTracker(h.registry).status("docker")?.lastError).toMatch(/ENOENT/);
  });

  it("slow engine (never answers): the scrape returns within the source timeout, docker down", async () => {
    // Engine requests time out at 300 ms, the tracker gives up at 500 ms.
    const { took } = await turnsBad(() => undefined, 500);
    expect(took).toBeLessThan(1500);
  });

  it("HTTP 500 on the container list: docker down, last values kept", async () => {
    const healthy = healthyEngine(INSPECT);
    await turnsBad((req, res) => {
      if ((req.url ?? "").startsWith("/containers/json")) {
        res.writeHead(500);
        res.end('{"message":"engine exploded"}');
      } else healthy(req, res);
    });
  });

  it("garbage body on the container list: docker down", async () => {
    const healthy = healthyEngine(INSPECT);
    await turnsBad((req, res) => {
      if ((req.url ?? "").startsWith("/containers/json")) {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end("\u0000\u0001<html>nope");
      } else healthy(req, res);
    });
  });

  it("garbage on the event stream: docker down until a clean resync", async () => {
    const healthy = healthyEngine(INSPECT);
    const { engine, h } = await turnsBad((req, res) => {
      if ((req.url ?? "").startsWith("/events")) {
        res.writeHead(200);
        res.write("}}}garbage{{{\n");
      } else healthy(req, res);
    });
    engine.handler = healthy;
    let up = 0;
    for (let i = 0; i < 40 && up !== 1; i++) {
      up = (await h.up("docker")) ?? 0;
      if (up !== 1) await new Promise((r) => setTimeout(r, 50));
    }
    expect(up).toBe(1);
  });

  it("HTTP 500 on the event stream: docker down", async () => {
    const healthy = healthyEngine(INSPECT);
    await turnsBad((req, res) => {
      if ((req.url ?? "").startsWith("/events")) {
        res.writeHead(500);
        res.end();
      } else healthy(req, res);
    });
  });

  it("inspect answers with the wrong shape: docker down", async () => {
    const healthy = healthyEngine(INSPECT);
    await turnsBad((req, res) => {
      if (/^\/containers\/c1\/json/.test(req.url ?? "")) {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end("[]");
      } else healthy(req, res);
    });
  });

  it("a container list larger than the response limit: docker down", async () => {
    const { engine, h } = await dockerSetup({ maxResponseBytes: 256 * 1024 });
    engine.handler = (req, res) => {
      if ((req.url ?? "").startsWith("/containers/json")) {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ Id: `c${i}`, Labels: { pad: "x".repeat(20) } }))));
      } else healthyEngine(INSPECT)(req, res);
    };
    const s = (await h.scrape()).samples;
    expectUp(s, { docker: 0, events: 1 });
    expect(sourceTracker(h.registry).status("docker")?.lastError).toMatch(/over 262144 bytes/);
  });

  it("a container that vanishes between list and inspect is skipped, the source stays up", async () => {
    const { engine, h } = await dockerSetup();
    const healthy = healthyEngine(INSPECT);
    engine.handler = (req, res) => {
      if ((req.url ?? "").startsWith("/containers/json")) {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify([{ Id: "c1" }, { Id: "gone" }]));
      } else healthy(req, res);
    };
    const s = (await h.scrape()).samples;
    expectUp(s, { docker: 1 });
    aliceKept(s);
  });

  it("a slow inspection after an event delays no scrape, and its result shows up once it answers", async () => {
    const engine = await FakeEngine.start();
    cleanups.push(() => engine.stop());
    const dir = await tempDir();
    const map = path.join(dir, "map.txt");
    await writeFile(map, "GPU 0: A100 (UUID: GPU-0)\nGPU 1: A100 (UUID: GPU-1)\n");
    const containers: Record<string, unknown> = { ...INSPECT };
    const healthy = healthyEngine(containers);
    let stream: import("node:http").ServerResponse | undefined;
    engine.handler = (req, res) => {
      const url = req.url ?? "";
      if (url.startsWith("/events")) {
        stream = res;
        res.writeHead(200);
        res.flushHeaders();
      } else if (url.startsWith("/containers/c2/json")) {
        setTimeout(() => healthy(req, res), 1000);
      } else healthy(req, res);
    };
    const docker = createDockerSource({ socketPath: engine.socketPath, deviceMapFile: map, requestTimeoutMs: 5000, inspectWaitMs: 100 });
    const collector = createDs01Collector({ snapshot: docker, version: "test", sourceTimeoutMs: 3000 });
    cleanups.push(() => collector.close());
    const h = new Harness(collector);
    aliceKept((await h.scrape()).samples);
    containers.c2 = {
      Id: "c2",
      Name: "/bob-job",
      Config: { Labels: { "ds01.user": "bob" } },
      State: { Status: "created" },
      HostConfig: { DeviceRequests: [{ Driver: "", Count: 0, DeviceIDs: ["GPU-1"], Capabilities: [["gpu"]] }] },
    };
    stream!.write(JSON.stringify({ Type: "container", Action: "create", Actor: { ID: "c2", Attributes: { name: "bob-job" } } }) + "\n");
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const during = (await h.scrape()).samples;
    expect(Date.now() - started).toBeLessThan(900);
    expectUp(during, { docker: 1 });
    expect(find(during, "ds01_gpu_allocated", { user: "bob" })).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 1200));
    const after = (await h.scrape()).samples;
    expectUp(after, { docker: 1 });
    expect(value(after, "ds01_gpu_allocated", { user: "bob", gpu_slot: "1" })).toBe(1);
    expect(engine.requests.filter((r) => r.startsWith("/containers/json"))).toHaveLength(1);
  });

  it("scrapes arriving while sources fail all succeed and agree", async () => {
    const { engine, h } = await turnsBad(() => undefined, 500);
    expect(engine.requests.length).toBeGreaterThan(0);
    const texts = await Promise.all(Array.from({ length: 20 }, () => h.scrape()));
    for (const { samples } of texts) {
      expectUp(samples, { docker: 0, events: 1 });
      aliceKept(samples);
    }
    expect(new Set(texts.map(({ samples }) => find(samples, "ds01_gpu_allocated").length)).size).toBe(1);
  });
});
