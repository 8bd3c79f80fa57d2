import { appendFile, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { setLogSink } from "../../exporter/core/log";
import { createEventsLog, type EventsLog } from "../../exporter/ds01/events-log";
import { childExecArgv, type ScanChild } from "../../exporter/ds01/scan-child";

const ROOT = path.resolve(__dirname, "..", "..");
const HOUR = 3600_000;
const NOW = Date.parse("2026-03-01T12:00:00.000Z");

/** The exporter's own entry point under tsx, as `tsx exporter/main.ts` starts it in development. */
const realChild = (thresholdBytes: number): ScanChild => ({ entry: path.join(ROOT, "exporter", "main.ts"), execArgv: ["--import", "tsx"], thresholdBytes });

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "ds01-scan-child-"));
  dirs.push(dir);
  return dir;
}

const iso = (t: number): string => new Date(t).toISOString();

/**
 * A log with every kind of line the reader tells apart: in and out of the window, late
 * (out of order), in the future, malformed in each way, escaped keys (JSON.parse's path), more
 * types than the cap, CRLF, an oversized line, and no newline after the last line.
 */
function hostileLog(events: number, seed: number): Buffer {
  const parts: Array<string | Buffer> = [];
  // About 3.5 s apart from 30 h before NOW: 30,000 events cross the 24 h window's start.
  let t = NOW - 30 * HOUR;
  for (let i = 0; i < events; i++) {
    t += 1000 + ((i * 7919 + seed) % 5000);
    const type = `container.${["start", "stop", "create", "remove"][i % 4]}`;
    parts.push(JSON.stringify({ timestamp: iso(t), event_type: type, details: { n: i, user: "ålice" } }) + "\n");
    if (i % 97 === 0) parts.push(JSON.stringify({ timestamp: iso(t - 5 * 60_000), event_type: type }) + "\n");
    if (i % 501 === 0) parts.push(`{"timestamp":"${iso(t)}","event_type":"rare.${i % 13}"}\r\n`);
  }
  parts.push(
    "not json\n",
    "[1,2,3]\n",
    '{"timestamp":"yesterday","event_type":"container.start"}\n',
    `{"timestamp":"${iso(NOW - HOUR)}","event_type":"bad type!"}\n`,
    `{"timestamp":"${iso(NOW + HOUR)}","event_type":"container.start"}\n`,
    `{"time\\u0073tamp":"${iso(NOW - HOUR)}","event_type":"escaped.key"}\n`,
    Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d, 0x0a]),
    `{"timestamp":"${iso(NOW - 2 * HOUR)}","event_type":"big","details":"${"x".repeat(70_000)}"}\n`,
    "\n",
    `{"timestamp":"${iso(NOW - HOUR)}","event_type":"container.st`,
  );
  return Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
}

interface Outcome {
  counts: Array<[string, number]>;
  stats: Record<string, number>;
}
async function readBoth(a: EventsLog, b: EventsLog): Promise<[Outcome, Outcome]> {
  const outcome = async (log: EventsLog): Promise<Outcome> => ({ counts: [...(await log.read())], stats: { ...log.stats } });
  return [await outcome(a), await outcome(b)];
}

describe("large events-log reads in a child process", () => {
  it("gives exactly the in-process outcome: first read, small appends, rotation to a large file", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "events.jsonl");
    await writeFile(file, hostileLog(30_000, 1));
    let now = NOW;
    const opts = { path: file, now: () => now, maxEventTypes: 8, chunkBytes: 64 * 1024 };
    const here = createEventsLog(opts);
    const child = createEventsLog({ ...opts, largeReads: realChild(256 * 1024) });

    const [a1, b1] = await readBoth(here, child);
    expect(b1).toEqual(a1);
    expect(a1.stats.notJson).toBeGreaterThan(0);
    expect(a1.stats.outsideWindow).toBeGreaterThan(0);
    expect(a1.stats.droppedTypes).toBeGreaterThan(0);
    const firstChildRead = child.lastChildRead;
    expect(firstChildRead?.peakRssBytes).toBeGreaterThan(0);

    // The partial last line completed, a few lines more: read here, below the threshold.
    now += 10 * 60_000;
    await appendFile(file, `art","x":1}\n{"timestamp":"${iso(now - 1000)}","event_type":"container.stop"}\n`);
    const [a2, b2] = await readBoth(here, child);
    expect(b2).toEqual(a2);
    expect(child.lastChildRead).toBe(firstChildRead);

    // Rotated to a large file: the child starts from the windows read so far.
    now += HOUR;
    await rename(file, `${file}.1`);
    await writeFile(file, hostileLog(20_000, 2));
    const [a3, b3] = await readBoth(here, child);
    expect(b3).toEqual(a3);
    expect(child.lastChildRead).not.toBe(firstChildRead);
    expect(a3.stats.rotations).toBe(1);
    await Promise.all([here.close(), child.close()]);
  }, 60_000);

  it("starts the child through the CLI's entry point when the exporter runs under the CLI", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "events.jsonl");
    await writeFile(file, hostileLog(5_000, 4));
    const reference = createEventsLog({ path: file, now: () => NOW });
    const expected = [...(await reference.read())];
    await reference.close();
    const lines: string[] = [];
    const restore = setLogSink((line) => lines.push(line));
    try {
      // As `node --lite-mode bin/gpu-monitoring.cjs exporter ...` would start it: the bin script is process.argv[1].
      const log = createEventsLog({ path: file, now: () => NOW, largeReads: { entry: path.join(ROOT, "bin", "gpu-monitoring.cjs"), execArgv: [], thresholdBytes: 0 } });
      expect([...(await log.read())]).toEqual(expected);
      expect(log.lastChildRead?.peakRssBytes).toBeGreaterThan(0);
      await log.close();
    } finally {
      restore();
    }
    expect(lines.map((line) => JSON.parse(line) as { level: string; msg: string })).toEqual([expect.objectContaining({ level: "info", msg: "events log read by a child process" })]);
  }, 60_000);

  it("reads in the process, logging one line, when the child fails, answers garbage or hangs", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "events.jsonl");
    await writeFile(file, hostileLog(5_000, 3));
    const pidFile = path.join(dir, "hang.pid");
    // Each reads the request frame (a header line, then bytes) and answers wrongly in its own way.
    const answering = (answer: string): string =>
      `const chunks = []; process.stdin.on('data', (c) => chunks.push(c)); process.stdin.on('end', () => { const buf = Buffer.concat(chunks); const r = JSON.parse(buf.toString('utf8', 0, buf.indexOf(10))); ${answer} });`;
    const state = "{ ...r.state, offset: r.end, partial: 0, windows: [['container.start', { bytes: 1, late: 0, count: 2, oldest: 0, newest: 5 }]] }";
    const usage = "{ wallMs: 1, cpuMs: 1, peakRssBytes: 1 }";
    const scripts = {
      exits: "process.exit(3);",
      garbage: answering("process.stdout.write(JSON.stringify({ ok: true, result: { offset: 'x' }, usage: {} }) + '\\n', () => process.exit(0));"),
      // Distances that decode to 2 timestamps ending at 5, but not the count the header claims.
      liar: answering(`const s = ${state}; s.windows[0][1].count = 3; process.stdout.write(JSON.stringify({ ok: true, result: s, usage: ${usage} }) + '\\n'); process.stdout.write(Buffer.from([5]), () => process.exit(0));`),
      short: answering(`process.stdout.write(JSON.stringify({ ok: true, result: ${state}, usage: ${usage} }) + '\\n', () => process.exit(0));`),
      long: answering(`process.stdout.write(JSON.stringify({ ok: true, result: ${state}, usage: ${usage} }) + '\\n'); process.stdout.write(Buffer.from([5, 1, 2]), () => process.exit(0));`),
      failed: answering("process.stdout.write(JSON.stringify({ ok: false, error: 'disk on fire' }) + '\\n', () => process.exit(1));"),
      hangs: `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => undefined, 1000);`,
    };
    const why: Record<keyof typeof scripts, RegExp> = {
      exits: /no answer|could not send the request/,
      garbage: /offset/,
      liar: /distances do not match the count/,
      short: /shorter than its header declares/,
      long: /longer than its header declares/,
      failed: /child failed: disk on fire/,
      hangs: /no answer within 2 s/,
    };
    const reference = createEventsLog({ path: file, now: () => NOW });
    const expected = [...(await reference.read())];
    await reference.close();
    for (const [name, code] of Object.entries(scripts) as Array<[keyof typeof scripts, string]>) {
      const entry = path.join(dir, `${name}.cjs`);
      await writeFile(entry, code);
      const lines: string[] = [];
      const restore = setLogSink((line) => lines.push(line));
      try {
        const log = createEventsLog({ path: file, now: () => NOW, largeReads: { entry, execArgv: [], thresholdBytes: 0, timeoutMs: 1_500 } });
        expect([...(await log.read())], name).toEqual(expected);
        expect(log.lastChildRead, name).toBeUndefined();
        await log.close();
      } finally {
        restore();
      }
      expect(lines, name).toHaveLength(1);
      const warning = JSON.parse(lines[0]!) as { level: string; msg: string; error: string };
      expect(warning, name).toMatchObject({ level: "warn", msg: "events log: reading in this process instead of a child" });
      expect(warning.error, name).toMatch(why[name]);
    }
    // The child that hung was killed when its time was up.
    const pid = Number(await readFile(pidFile, "utf8"));
    expect(() => process.kill(pid, 0)).toThrow();
  }, 60_000);

  it("starts the child with the parent's flags less those that turn the optimising compiler off", () => {
    expect(childExecArgv(["--max-semi-space-size=1", "--heap-growing-percent=20", "--lite-mode", "--no-expose-wasm", "--expose-gc"])).toEqual([
      "--max-semi-space-size=1",
      "--heap-growing-percent=20",
      "--expose-gc",
    ]);
    expect(childExecArgv(["--max-opt=1", "--no_opt", "--jitless", "--max-opt=3", "--optimize-for-size"])).toEqual(["--max-opt=3", "--optimize-for-size"]);
  });
});
