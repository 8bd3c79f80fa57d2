import { appendFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { classifyContainer, containerInterface, containerUser, unmanagedGpuContainer, type ContainerRecord } from "../../exporter/ds01/classify";
import { migProfileEquivalents, parseDeviceMap } from "../../exporter/ds01/device-map";
import { toRecord } from "../../exporter/ds01/docker-source";
import { EventLineScanner, FieldKind, LineVerdict } from "../../exporter/ds01/event-line";
import { createEventsLog, EventTypeNames, TimestampParser } from "../../exporter/ds01/events-log";
import { createStateDirSource } from "../../exporter/ds01/state-dir-source";
import { createStateFileSource } from "../../exporter/ds01/state-file-source";
import { TimeWindow } from "../../exporter/ds01/time-window";

const FIXTURE = "/work/shared/reference/ds01-infra/tests/fixtures/mock_gpu_state.json";
const HOUR = 3600_000;

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "ds01-src-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

function record(over: Partial<ContainerRecord>): ContainerRecord {
  return { id: "x", name: "c", labels: {}, state: "running", cgroupParent: "", deviceIds: [], allGpus: false, gpuCount: 0, ...over };
}

describe("device map", () => {
  it("parses nvidia-smi -L with MIG devices and the JSON form alike", () => {
    const text = `GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0a)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-1b)\n  MIG 1g.10gb     Device  0: (UUID: MIG-1b0)\n  MIG 3g.40gb     Device  1: (UUID: MIG-1b1)\n`;
    const map = parseDeviceMap(text);
    expect(map.gpus.map((g) => [g.index, g.uuid, g.model, g.migEnabled])).toEqual([
      ["0", "GPU-0a", "NVIDIA H100 80GB HBM3", false],
      ["1", "GPU-1b", "NVIDIA H100 80GB HBM3", true],
    ]);
    expect(map.byUuid.get("MIG-1b1")).toMatchObject({ slot: "1.1", profile: "3g.40gb" });
    expect(map.byUuid.get("MIG-1b1")!.gpuEquivalents).toBeCloseTo(3 / 7, 12);
    expect(map.byIndex.get("1:0")!.uuid).toBe("MIG-1b0");
    const json = parseDeviceMap(
      JSON.stringify({ gpus: [{ index: 1, uuid: "GPU-1b", model: "H100", migs: [{ device: 0, uuid: "MIG-1b0", profile: "2g.20gb", gpu_instance_id: 5 }] }] }),
    );
    expect(json.migDevices[0]).toEqual({ gpu: "1", gpuInstanceId: "5", slot: "1.0", uuid: "MIG-1b0", profile: "2g.20gb" });
  });

  it("counts a MIG Ng profile as N/7 and rejects what is not a profile", () => {
    expect(migProfileEquivalents("1g.10gb")).toBeCloseTo(1 / 7, 12);
    expect(migProfileEquivalents("7g.80gb")).toBe(1);
    expect(migProfileEquivalents("1c.4g.40gb")).toBeCloseTo(4 / 7, 12);
    expect(migProfileEquivalents("full")).toBeUndefined();
    expect(migProfileEquivalents("9g.90gb")).toBeUndefined();
  });
});

describe("container classification (CONTAINER-LABELS.md)", () => {
  it("tells DS01, infrastructure, unmanaged GPU and other containers apart", () => {
    expect(classifyContainer(record({ cgroupParent: "ds01-student-alice.slice" }))).toBe("ds01");
    expect(classifyContainer(record({ labels: { "ds01.name": "x" } }))).toBe("ds01");
    expect(classifyContainer(record({ name: "thesis._.1001" }))).toBe("ds01");
    expect(classifyContainer(record({ name: "ds01-grafana", labels: { "ds01.user": "x" } }))).toBe("infrastructure");
    expect(classifyContainer(record({ labels: { "ds01.protected": "true", "ds01.user": "x" } }))).toBe("infrastructure");
    expect(classifyContainer(record({ deviceIds: ["GPU-1"] }))).toBe("unmanaged-gpu");
    expect(classifyContainer(record({ allGpus: true }))).toBe("unmanaged-gpu");
    expect(classifyContainer(record({ gpuCount: 2 }))).toBe("unmanaged-gpu");
    expect(classifyContainer(record({}))).toBe("other");
  });

  it("reports an unmanaged container's owner from its dev container folder, else its compose project's, as DS01 does", () => {
    const owner = (labels: Record<string, string>) => unmanagedGpuContainer(record({ labels, allGpus: true })).user;
    expect(owner({ "devcontainer.local_folder": "/home/h.baker@school.lan/thesis", "com.docker.compose.project.working_dir": "/home/bob/x" })).toBe("h.baker@school.lan");
    expect(owner({ "com.docker.compose.project.working_dir": "/home/bob/llm" })).toBe("bob");
    expect(owner({ "com.docker.compose.project.working_dir": "/srv/shared/llm" })).toBe("unknown");
    expect(owner({})).toBe("unknown");
    // Docker's State.Running holds for a paused container too.
    expect(unmanagedGpuContainer(record({ state: "paused", gpuCount: 1 }))).toEqual({ name: "c", user: "unknown", gpuCount: "1", accessType: "count", running: true });
    expect(unmanagedGpuContainer(record({ state: "exited", deviceIds: ["GPU-1", "GPU-2"] }))).toMatchObject({ gpuCount: "2", accessType: "specific", running: false });
  });

  it("derives interface and user in DS01's order of precedence", () => {
    expect(containerInterface(record({ labels: { "ds01.interface": "api", "ds01.managed": "true" } }))).toBe("api");
    expect(containerInterface(record({ labels: { "ds01.interface": "bogus", "ds01.managed": "true" } }))).toBe("atomic");
    expect(containerInterface(record({ name: "a._.1000" }))).toBe("atomic");
    expect(containerInterface(record({ name: "vscode-x" }))).toBe("other");
    expect(containerInterface(record({ labels: { "com.docker.compose.project": "p" } }))).toBe("other");
    expect(containerInterface(record({ labels: { "hub.jupyter.org/username": "u" } }))).toBe("other");
    expect(containerInterface(record({}))).toBe("docker");
    const passwd = (uid: string) => (uid === "1001" ? "dave" : undefined);
    expect(containerUser(record({ labels: { "ds01.user": "alice", "aime.mlc.USER": "old" } }), passwd)).toBe("alice");
    expect(containerUser(record({ labels: { "aime.mlc.USER": "old" } }), passwd)).toBe("old");
    expect(containerUser(record({ cgroupParent: "ds01-student-jean-luc.slice" }), passwd)).toBe("jean-luc");
    expect(containerUser(record({ name: "t._.1001" }), passwd)).toBe("dave");
    expect(containerUser(record({ name: "t._.4242" }), passwd)).toBe("4242");
  });

  it("reads device IDs from device requests, else from the ds01.gpu.uuids label", () => {
    const inspect = (hostConfig: unknown, labels: Record<string, string> = {}) =>
      toRecord("id1", { Name: "/n", Config: { Labels: labels }, State: { Status: "exited" }, HostConfig: hostConfig });
    expect(inspect({ DeviceRequests: [{ Driver: "", Count: 0, DeviceIDs: ["GPU-a", "MIG-b"], Capabilities: [["gpu"]] }] }).deviceIds).toEqual(["GPU-a", "MIG-b"]);
    expect(inspect({ DeviceRequests: [{ Driver: "nvidia", Count: -1, DeviceIDs: null }] }).allGpus).toBe(true);
    expect(inspect({}, { "ds01.gpu.uuids": "MIG-a, MIG-b" }).deviceIds).toEqual(["MIG-a", "MIG-b"]);
    expect(inspect({ DeviceRequests: [{ Driver: "", Count: 0, DeviceIDs: ["0"], Capabilities: [["compute"]] }] }).deviceIds).toEqual([]);
    expect(inspect(null).name).toBe("n");
    expect(() => toRecord("id1", [])).toThrow(/not an object/);
  });
});

describe("state-file source", () => {
  it("reads DS01's gpu-state fixture", async () => {
    const src = createStateFileSource({ path: FIXTURE });
    const s = await src.read();
    expect(s.gpus.map((g) => g.index)).toEqual(["0", "1", "2", "3"]);
    expect(s.allocations).toEqual([
      { slot: "0", uuid: "", profile: "full", gpuEquivalents: 1, container: "project-a._.1001", user: "student1", interface: "orchestration" },
      { slot: "1", uuid: "", profile: "full", gpuEquivalents: 1, container: "research-exp._.2001", user: "researcher1", interface: "atomic" },
    ]);
    expect(s.containers).toHaveLength(2);
    expect(s.migMapping).toEqual({ mapped: 0, unmapped: 0 });
  });

  it("reads MIG slots, fills UUIDs from a device map, and re-reads only when the file changes", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "gpu-state.json");
    const map = path.join(dir, "map.txt");
    await writeFile(map, "GPU 0: A100 (UUID: GPU-0)\n  MIG 2g.10gb Device 0: (UUID: MIG-00)\n  MIG 1g.5gb Device 1: (UUID: MIG-01)\n");
    const state = {
      gpus: {
        "0.0": { type: "mig_instance", containers: [{ container: "a", user: "u1", interface: "api", status: "running" }] },
        "0.1": { type: "mig_instance", containers: [{ container: "a", user: "u1", interface: "api" }] },
      },
      mig_enabled: true,
    };
    await writeFile(file, JSON.stringify(state));
    const src = createStateFileSource({ path: file, deviceMapFile: map });
    const first = await src.read();
    expect(first.gpus).toEqual([{ index: "0", uuid: "GPU-0", model: "A100", migEnabled: true }]);
    expect(first.allocations.map((a) => [a.slot, a.uuid, a.profile, a.gpuEquivalents])).toEqual([
      ["0.0", "MIG-00", "2g.10gb", 2 / 7],
      ["0.1", "MIG-01", "1g.5gb", 1 / 7],
    ]);
    expect(first.containers).toEqual([{ name: "a", user: "u1", interface: "api", status: "running" }]);
    expect(await src.read()).toBe(first);
    await writeFile(file, JSON.stringify({ ...state, last_updated: "2025-01-02T00:00:00Z" }));
    expect(await src.read()).not.toBe(first);
  });
});

describe("events log", () => {
  const line = (t: number, type: string) => JSON.stringify({ timestamp: new Date(t).toISOString(), event_type: type, user: "u" }) + "\n";

  it("keeps an exact 24 h sliding window per event type", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "events.jsonl");
    let now = Date.parse("2026-01-02T12:00:00Z");
    const lines = [
      line(now - 25 * HOUR, "gpu.allocate"), // already outside
      line(now - 23 * HOUR, "gpu.allocate"),
      line(now - 2 * HOUR, "gpu.allocate"),
      line(now - 23.5 * HOUR, "container.start"),
      line(now - 1 * HOUR, "container.start"),
      line(now - 3 * HOUR, "gpu.allocate"), // out of order
    ];
    await writeFile(file, lines.join(""));
    const log = createEventsLog({ path: file, now: () => now });
    expect(Object.fromEntries(await log.read())).toEqual({ "gpu.allocate": 3, "container.start": 2 });
    expect(log.stats.outsideWindow).toBe(1);
    now += 0.6 * HOUR; // 23.5 h event leaves
    expect(Object.fromEntries(await log.read())).toEqual({ "gpu.allocate": 3, "container.start": 1 });
    now += 0.5 * HOUR; // 23 h event leaves
    await appendFile(file, line(now, "gpu.allocate"));
    expect(Object.fromEntries(await log.read())).toEqual({ "gpu.allocate": 3, "container.start": 1 });
    now += 22 * HOUR; // everything but the newest leaves; the types stay, at 0 where empty
    expect(Object.fromEntries(await log.read())).toEqual({ "gpu.allocate": 1, "container.start": 0 });
  });

  it("reads only what was appended since the last read", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "events.jsonl");
    const now = Date.now();
    await writeFile(file, line(now, "a.b").repeat(100));
    const log = createEventsLog({ path: file });
    await log.read();
    const first = log.stats.bytesRead;
    await appendFile(file, line(now, "a.b"));
    expect((await log.read()).get("a.b")).toBe(101);
    expect(log.stats.bytesRead - first).toBe(line(now, "a.b").length);
  });

  it("the byte scanner agrees with JSON.parse on valid, broken and tricky lines", () => {
    const base = String.raw`{"timestamp":"2026-01-01T10:00:00Z","event_type":"gpu.allocate","user":"u","details":{"a":[1,2.5,-3e4,true,false,null]},"schema_version":1}
{ "event_type" : "x.y" , "timestamp" : "2026-01-01T10:00:00.123Z" }
{"timestamp":"a","timestamp":"2026-01-01T10:00:00Z","event_type":"dup"}
{"time\u0073tamp":"2026-01-01T10:00:00Z","event_type":"esc.key"}
{"timestamp":"2026-01-01T10:00:00Z","event_type":"esc\u002evalue"}
{"timestamp":5,"event_type":["x"]}
{"details":{"timestamp":"nested, not top level"},"event_type":"a.b"}
{"s":"quote \" backslash \\ slash \/ \b\f\n\r\t \u00e9 é 🚀"}
[1,2,3]
"just a string"
42
-0.0e-0
true
null
{}
[]
01
-
1.
1e
1E+
.5
+1
tru
nul
{,}
[1,]
{"a":1,}
{"a" 1}
{"a":}
{"a":1 "b":2}
{"a":"\x"}
{"a":"\u12"}
{'a':1}
{"a":1}}
{"a":[1}`.split("\n");
    base.push(" \t{}\t ", '{"a":"tab\there"}', '{"a":"raw\u0001"}', "[".repeat(100) + "]".repeat(100));
    base.push('{"a":' + "[".repeat(70) + "]".repeat(70) + ',"event_type":"deep.ok","timestamp":"2026-01-01T10:00:00Z"}');
    const lines: string[] = [...base];
    let seed = 11;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const alphabet = '{}[]":,\\ 0123456789.eE+-tfnulrsaé\u0001';
    for (let i = 0; i < 4000; i++) {
      const src = base[rand(base.length)]!;
      const at = rand(src.length + 1);
      const op = rand(3);
      const ch = alphabet[rand(alphabet.length)]!;
      lines.push(op === 0 ? src.slice(0, at) + src.slice(at + 1) : op === 1 ? src.slice(0, at) + ch + src.slice(at) : src.slice(0, at) + ch + src.slice(at + 1));
    }
    const scanner = new EventLineScanner();
    let fallbacks = 0;
    for (const line of lines) {
      let expected: { verdict: LineVerdict; ts?: unknown; type?: unknown };
      try {
        const v: unknown = JSON.parse(line);
        if (typeof v === "object" && v !== null && !Array.isArray(v)) {
          const o = v as Record<string, unknown>;
          expected = { verdict: LineVerdict.Object, ts: o.timestamp, type: o.event_type };
        } else expected = { verdict: LineVerdict.NotObject };
      } catch {
        expected = { verdict: LineVerdict.Invalid };
      }
      const buf = Buffer.from(line);
      const verdict = scanner.scan(buf, 0, buf.length);
      if (verdict === LineVerdict.Fallback) {
        fallbacks++;
        continue;
      }
      expect(verdict, line).toBe(expected.verdict);
      if (verdict !== LineVerdict.Object) continue;
      const field = (kind: FieldKind, start: number, end: number) =>
        kind === FieldKind.Absent ? undefined : kind === FieldKind.String ? buf.toString("utf8", start, end) : "(not a string)";
      const asSeen = (x: unknown) => (x === undefined ? undefined : typeof x === "string" ? x : "(not a string)");
      expect(field(scanner.tsKind, scanner.tsStart, scanner.tsEnd), line).toBe(asSeen(expected.ts));
      expect(field(scanner.typeKind, scanner.typeStart, scanner.typeEnd), line).toBe(asSeen(expected.type));
    }
    // Escaped keys/values and deep nesting are left to JSON.parse, and only those.
    expect(fallbacks).toBeGreaterThan(0);
    expect(fallbacks).toBeLessThan(lines.length / 4);
  });

  it("the byte timestamp parser agrees with Date.parse, in the same hour and across hours", () => {
    const reference = (ts: string) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/.test(ts) ? Date.parse(ts) : NaN;
    const cases = [
      "2026-01-01T10:00:00Z", "2026-01-01T10:59:59Z", "2026-01-01T10:07:31.5Z", "2026-01-01T10:07:31.12Z",
      "2026-01-01T10:07:31.123Z", "2026-01-01T10:07:31.123456789Z", "2026-01-01T10:07:31.999999Z", "2026-01-01T10:07:31.Z",
      "2026-01-01T10:07:31.1234567890Z", "2026-01-01T10:60:00Z", "2026-01-01T10:00:60Z", "2026-01-01T10:0a:00Z",
      "2026-01-01T10-00:00Z", "2026-01-01T10:00:00.1x3Z", "2026-01-01T11:00:00Z", "2026-01-01T23:59:59.999Z",
      "2026-01-01T24:00:00Z", "2026-13-01T10:00:00Z", "2026-02-30T10:00:00Z", "2024-02-29T10:00:00Z",
      "2026-01-01 10:00:00Z", "2026-01-01T10:00:00+00:00", "2026-01-01T10:00:00", "1970-01-01T00:00:00Z",
      "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "2026-1-01T10:00:00Z", "2026-01-01T10:00:00.000000000Z",
    ];
    const parser = new TimestampParser();
    let seed = 5;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    // Each case alone, after a line of its own hour (the cached path), and in a shuffled stream.
    const order = [...cases, ...cases.flatMap((c) => [c.slice(0, 13) + ":30:00Z", c]), ...Array.from({ length: 2000 }, () => cases[rand(cases.length)]!)];
    for (let i = 0; i < 500; i++) order.push(new Date(Date.UTC(2026, 0, 1) + rand(3 * 24) * HOUR + rand(HOUR)).toISOString());
    for (const ts of order) {
      const buf = Buffer.from(`"${ts}"`);
      expect(parser.parse(buf, 1, buf.length - 1), ts).toBe(reference(ts));
    }
  });

  it("event types are told apart by every byte, and invalid ones refused, cached or not", () => {
    const names = new EventTypeNames();
    const valid = ["gpu.release", "gpu.reserve", "gpu.resurve", "a", "A:b-c_d.9", "x".repeat(128), "gpu.allocate"];
    const invalid = ["", "gpu release", "gpu.rel\"ase", "y".repeat(129), "gpu.é", "a/b"];
    for (let round = 0; round < 3; round++) {
      for (const t of [...valid, ...invalid]) {
        const buf = Buffer.from(`{"event_type":"${t}"}`);
        const start = buf.indexOf(`"${t}"`, 13) + 1;
        expect(names.name(buf, start, start + Buffer.byteLength(t)), t).toBe(valid.includes(t) ? t : undefined);
      }
    }
  });

  it("counts escaped and deeply nested lines through the JSON.parse fallback", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "events.jsonl");
    const ts = new Date(Date.now() - 1000).toISOString();
    await writeFile(
      file,
      [
        String.raw`{"time\u0073tamp":"` + ts + `","event_type":"esc.key"}`,
        String.raw`{"timestamp":"` + ts + String.raw`","event_type":"esc\u002evalue"}`,
        `{"deep":${"[".repeat(80)}${"]".repeat(80)},"timestamp":"${ts}","event_type":"deep.line"}`,
        `{"timestamp":"${ts.replace("Z", "+00:00")}","event_type":"offset.zone"}`,
      ].join("\n") + "\n",
    );
    const counts = Object.fromEntries(await createEventsLog({ path: file }).read());
    expect(counts).toEqual({ "esc.key": 1, "esc.value": 1, "deep.line": 1, "offset.zone": 1 });
  });

  it("window: ordered insertion and expiry stay exact over many operations", () => {
    const w = new TimeWindow();
    const kept: number[] = [];
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      const t = i * 10 + Math.floor(rand() * 200) - 100;
      w.add(t);
      kept.push(t);
      if (i % 97 === 0) {
        const cutoff = i * 10 - 3000;
        w.expire(cutoff);
        kept.splice(0, kept.length, ...kept.filter((x) => x > cutoff));
        expect(w.count).toBe(kept.length);
      }
    }
  });

  it("window: many late timestamps (reversed, shuffled, interleaved writers) stay exact as they are merged in", () => {
    let seed = 3;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const start = Date.parse("2026-01-01T00:00:00.000Z");
    const reversed = Array.from({ length: 5000 }, (_, i) => start + (5000 - i) * 1000);
    const shuffled = Array.from({ length: 20_000 }, () => start + rand(86_400_000));
    // Two writers a minute apart in their clocks, their lines interleaved.
    const interleaved = Array.from({ length: 20_000 }, (_, i) => start + i * 50 + (i % 2 ? 60_000 : 0));
    for (const times of [reversed, shuffled, interleaved]) {
      const w = new TimeWindow();
      let kept: number[] = [];
      for (const [i, t] of times.entries()) {
        w.add(t);
        kept.push(t);
        if (i % 1500 === 1499) {
          const cutoff = start + rand(3_600_000) * (i / 1500);
          w.expire(cutoff);
          kept = kept.filter((x) => x > cutoff);
          expect(w.count).toBe(kept.length);
        }
      }
      const sorted = [...kept].sort((a, b) => a - b);
      // Each timestamp leaves exactly when the cutoff reaches it.
      for (const k of [0, 1, sorted.length >> 1, sorted.length - 2, sorted.length - 1]) {
        w.expire(sorted[k]! - 1);
        expect(w.count).toBe(sorted.filter((x) => x > sorted[k]! - 1).length);
        w.expire(sorted[k]!);
        expect(w.count).toBe(sorted.filter((x) => x > sorted[k]!).length);
      }
    }
  });

  it("window: real clock times stay exact to the millisecond for months, and across spans beyond 32 bits", () => {
    // A day's window sliding over 60 days of epoch-ms timestamps: the 32-bit offsets move their base.
    const day = 24 * HOUR;
    const start = Date.parse("2026-01-01T00:00:00.000Z");
    const sliding = new TimeWindow();
    const kept: number[] = [];
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let t = start; t < start + 60 * day; t += Math.floor(rand() * 600_000) + 1) {
      // Now and then an event written late, up to a minute out of order.
      const at = rand() < 0.05 ? t - Math.floor(rand() * 60_000) : t;
      sliding.add(at);
      kept.push(at);
      if (rand() < 0.02) {
        const cutoff = t - day;
        sliding.expire(cutoff);
        kept.splice(0, kept.length, ...kept.filter((x) => x > cutoff));
        expect(sliding.count).toBe(kept.length);
        // One millisecond either side of an event is the difference of exactly that event.
        const edge = kept[kept.length >> 1]!;
        const probe = new TimeWindow();
        for (const x of kept) probe.add(x);
        probe.expire(edge - 1);
        const atOrAfter = kept.filter((x) => x > edge - 1).length;
        expect(probe.count).toBe(atOrAfter);
        probe.expire(edge);
        expect(probe.count).toBe(atOrAfter - kept.filter((x) => x === edge).length);
      }
    }
    // A window holding events 40 days apart (more than 2^31 ms) keeps both, in either order.
    for (const order of [
      [start, start + 40 * day, start + 20 * day],
      [start + 40 * day, start, start + 20 * day],
    ]) {
      const wide = new TimeWindow();
      for (const t of order) wide.add(t);
      expect(wide.count).toBe(3);
      wide.expire(start);
      expect(wide.count).toBe(2);
      wide.expire(start + 20 * day);
      expect(wide.count).toBe(1);
      wide.expire(start + 40 * day - 1);
      expect(wide.count).toBe(1);
      wide.expire(start + 40 * day);
      expect(wide.count).toBe(0);
    }
  });
});

describe("state dir source", () => {
  it("reports the filesystem's used/free/total and the directory's own size, bounded", async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, "sub", "deeper"), { recursive: true });
    await writeFile(path.join(dir, "a"), Buffer.alloc(1000));
    await writeFile(path.join(dir, "sub", "b"), Buffer.alloc(2000));
    await writeFile(path.join(dir, "sub", "deeper", "c"), Buffer.alloc(3000));
    const usage = await createStateDirSource({ path: dir }).read();
    expect(usage.state).toBe(6000);
    expect(usage.stateTruncated).toBe(false);
    expect(usage.total).toBeGreaterThan(0);
    expect(usage.used + usage.free).toBeLessThanOrEqual(usage.total);
    const shallow = await createStateDirSource({ path: dir, maxDepth: 2 }).read();
    expect(shallow).toMatchObject({ state: 3000, stateTruncated: true });
    const few = await createStateDirSource({ path: dir, maxEntries: 1 }).read();
    expect(few.stateTruncated).toBe(true);
  });

  it("walks again only after its interval", async () => {
    const dir = await tempDir();
    let now = 0;
    const src = createStateDirSource({ path: dir, walkIntervalMs: 1000, now: () => now });
    expect((await src.read()).state).toBe(0);
    await writeFile(path.join(dir, "x"), Buffer.alloc(500));
    expect((await src.read()).state).toBe(0);
    now = 1000;
    expect((await src.read()).state).toBe(500);
  });
});
