import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { ds01 } from "../../metrics";
import { createCgroupSource } from "../../exporter/ds01/cgroup-source";
import { createDs01Collector } from "../../exporter/ds01/collector";
import { createDockerSource } from "../../exporter/ds01/docker-source";
import { createEventsLog } from "../../exporter/ds01/events-log";
import { createGroupsSource } from "../../exporter/ds01/groups-source";
import { LIFECYCLE_ACTIONS } from "../../exporter/ds01/lifecycle";
import { sanitizeSliceUser } from "../../exporter/ds01/slice-name";
import { createStateDirSource } from "../../exporter/ds01/state-dir-source";
import { createStateFileSource } from "../../exporter/ds01/state-file-source";
import { createUtmpSource } from "../../exporter/ds01/utmp-source";
import { runExporter } from "../../exporter/run";
import { httpGet } from "../exporter/helpers";
import { FakeEngine, healthyEngine } from "./support/fake-engine";
import { UT, writeGroupFiles, writeUserSlice, writeUtmp, type UtmpEntry } from "./support/host-files";
import { find, Harness, parseExposition, value, type Sample } from "./support/metrics-text";

const run = promisify(execFile);
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "ds01-host-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function harness(opts: Parameters<typeof createDs01Collector>[0]): Harness {
  const collector = createDs01Collector(opts);
  cleanups.push(() => collector.close());
  return new Harness(collector);
}

function reason(h: Harness, source: string): string | undefined {
  // The tracker's last error is what the operator reads in the log; the gauge says down.
  return (h.collector as unknown as { tracker?: { status(n: string): { lastError?: string } | undefined } }).tracker?.status(source)?.lastError;
}

/** A 32-character user name fills ut_user with no terminating NUL. */
const FULL_WIDTH_USER = "a".repeat(16) + "b".repeat(16);
const LIVE = process.pid;
const LOGINS: UtmpEntry[] = [
  { type: UT.BOOT_TIME, pid: 0, line: "~", id: "~~", user: "reboot", host: "6.1.0" },
  { type: UT.RUN_LVL, pid: 53, line: "~", id: "~~", user: "runlevel", host: "6.1.0" },
  { type: UT.LOGIN_PROCESS, pid: LIVE, line: "tty1", id: "tty1", user: "LOGIN" },
  { type: UT.USER_PROCESS, pid: LIVE, line: "pts/0", id: "ts/0", user: "alice", host: "10.0.0.5" },
  { type: UT.USER_PROCESS, pid: LIVE, line: "pts/1", id: "ts/1", user: "alice", host: "10.0.0.5" },
  { type: UT.USER_PROCESS, pid: LIVE, line: "pts/2", id: "ts/2", user: "bob", host: "vpn.example.org" },
  { type: UT.USER_PROCESS, pid: LIVE, line: "pts/3", id: "ts/3", user: FULL_WIDTH_USER, host: "h".repeat(256) },
  // A session that ended: its record stays, marked dead, and counts for nobody.
  { type: UT.DEAD_PROCESS, pid: LIVE, line: "pts/4", id: "ts/4", user: "carol" },
  { type: UT.EMPTY, pid: 0 },
];

/** `who FILE`'s sessions per user: coreutils reads the same records (checking pids, hence our live pid). */
async function whoCounts(file: string): Promise<Record<string, number>> {
  const { stdout } = await run("who", [file]);
  const counts: Record<string, number> = {};
  for (const line of stdout.split("\n")) {
    const user = line.split(/\s+/)[0];
    if (user) counts[user] = (counts[user] ?? 0) + 1;
  }
  return counts;
}

function sessions(samples: Sample[]): Record<string, number> {
  return Object.fromEntries(find(samples, "ds01_ssh_sessions_active").map((s) => [s.labels.user, s.value]));
}

describe("utmp source: login sessions from the utmp database", () => {
  it("counts USER_PROCESS records per user exactly as `who` lists them", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "utmp");
    await writeUtmp(file, LOGINS);
    const h = harness({ sessions: createUtmpSource({ path: file }), version: "test" });
    const { samples } = await h.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "utmp" })).toBe(1);
    expect(sessions(samples)).toEqual({ alice: 2, bob: 1, [FULL_WIDTH_USER]: 1 });
    expect(sessions(samples)).toEqual(await whoCounts(file));
    expect(value(samples, "ds01_ssh_sessions_total")).toBe(4);
  });

  it("a truncated, foreign or missing file leaves the source down with a reason and the last counts published", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "utmp");
    await writeUtmp(file, LOGINS);
    const h = harness({ sessions: createUtmpSource({ path: file }), version: "test" });
    await h.scrape();

    await truncate(file, 384 * 3 + 100);
    let { samples } = await h.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "utmp" })).toBe(0);
    expect(reason(h, "utmp")).toMatch(/not a multiple of 384-byte records/);
    expect(value(samples, "ds01_ssh_sessions_total")).toBe(4);

    // Whole records of text: sizes fit, types do not.
    await writeFile(file, Buffer.alloc(384 * 2, "garbage!"));
    ({ samples } = await h.scrape());
    expect(value(samples, "ds01_exporter_source_up", { source: "utmp" })).toBe(0);
    expect(reason(h, "utmp")).toMatch(/record 0 has type \d+, not 0-9/);

    await rm(file);
    ({ samples } = await h.scrape());
    expect(value(samples, "ds01_exporter_source_up", { source: "utmp" })).toBe(0);
    expect(reason(h, "utmp")).toMatch(/ENOENT/);
    expect(sessions(samples)).toEqual({ alice: 2, bob: 1, [FULL_WIDTH_USER]: 1 });

    await writeUtmp(file, [{ type: UT.USER_PROCESS, pid: LIVE, line: "pts/9", user: "dana" }]);
    ({ samples } = await h.scrape());
    expect(value(samples, "ds01_exporter_source_up", { source: "utmp" })).toBe(1);
    expect(sessions(samples)).toEqual({ dana: 1 });

    // An empty database: nobody logged in.
    await writeFile(file, "");
    ({ samples } = await h.scrape());
    expect(sessions(samples)).toEqual({});
    expect(value(samples, "ds01_ssh_sessions_total")).toBe(0);
  });

  it("refuses a file over its size limit without reading it", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "utmp");
    await writeUtmp(file, Array.from({ length: 20 }, (_, i) => ({ type: UT.USER_PROCESS, pid: LIVE, line: `pts/${i}`, user: "x" })));
    const h = harness({ sessions: createUtmpSource({ path: file, maxBytes: 384 * 10 }), version: "test" });
    await h.scrape();
    expect(reason(h, "utmp")).toMatch(/7680 bytes, over the 3840 limit/);
  });
});

describe("groups source: DS01's <group>.members files", () => {
  it("publishes one info series per member line and a count per group; archived members, comments and blanks are skipped", async () => {
    const dir = path.join(await tempDir(), "groups");
    await writeGroupFiles(dir, {
      "students.members": "# students of the 2026 intake\nalice\nbob   # joined late\n\n  chen  \nalice\n",
      "researchers.members": "eve\nfarid@uni.example\n",
      "faculty.members": "",
      "archived.members": "mallory\n",
      "README.txt": "not a group\n",
    });
    await mkdir(path.join(dir, "old.members"));
    const h = harness({ groups: createGroupsSource({ path: dir }), version: "test" });
    const { samples } = await h.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "groups" })).toBe(1);
    const info = find(samples, "ds01_user_group_info").map((s) => `${s.labels.group}:${s.labels.user}=${s.value}`);
    expect(info.sort()).toEqual(["researchers:eve=1", "researchers:farid@uni.example=1", "students:alice=1", "students:bob=1", "students:chen=1"]);
    const totals = Object.fromEntries(find(samples, "ds01_group_members_total").map((s) => [s.labels.group, s.value]));
    expect(totals).toEqual({ faculty: 0, researchers: 2, students: 3 });
  });

  it("a missing directory leaves the source down; the last membership stays", async () => {
    const root = await tempDir();
    const dir = path.join(root, "groups");
    await writeGroupFiles(dir, { "students.members": "alice\n" });
    const h = harness({ groups: createGroupsSource({ path: dir }), version: "test" });
    await h.scrape();
    await rm(dir, { recursive: true });
    const { samples } = await h.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "groups" })).toBe(0);
    expect(reason(h, "groups")).toMatch(/ENOENT/);
    expect(value(samples, "ds01_user_group_info", { user: "alice", group: "students" })).toBe(1);
  });
});

describe("host sources on special files: never blocked, never read past their bound", () => {
  it("a utmp path that is a FIFO leaves the source down at once, with the kind named", async () => {
    const dir = await tempDir();
    const fifo = path.join(dir, "utmp");
    await run("mkfifo", [fifo]);
    const h = harness({ sessions: createUtmpSource({ path: fifo }), version: "test" });
    const { samples } = await h.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "utmp" })).toBe(0);
    expect(reason(h, "utmp")).toMatch(/is a FIFO, not a regular file/);
  });

  it("a FIFO named like a group file is passed over; a symlink to one is refused, not waited on", async () => {
    const dir = path.join(await tempDir(), "groups");
    await writeGroupFiles(dir, { "students.members": "alice\n" });
    await run("mkfifo", [path.join(dir, "pipe.members")]);
    const h = harness({ groups: createGroupsSource({ path: dir }), version: "test" });
    let { samples } = await h.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "groups" })).toBe(1);
    expect(find(samples, "ds01_group_members_total").map((s) => s.labels.group)).toEqual(["students"]);
    await run("ln", ["-s", path.join(dir, "pipe.members"), path.join(dir, "linked.members")]);
    ({ samples } = await h.scrape());
    expect(value(samples, "ds01_exporter_source_up", { source: "groups" })).toBe(0);
    expect(reason(h, "groups")).toMatch(/linked\.members is a FIFO/);
  });

  it("a cgroup file swapped for /dev/zero is refused, not read without end", async () => {
    const root = await tempDir();
    const slice = await writeUserSlice(root, "students", "alice", { usageUsec: 1_000_000, memoryCurrent: 1024 });
    await rm(path.join(slice, "memory.current"), { force: true });
    await run("ln", ["-s", "/dev/zero", path.join(slice, "memory.current")]);
    const h = harness({ cgroups: createCgroupSource({ root }), version: "test" });
    const { samples } = await h.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "cgroup" })).toBe(0);
    expect(reason(h, "cgroup")).toMatch(/is a character device, not a regular file/);
  });
});

describe("cgroup source: CPU and memory per user from cgroup v2 user slices", () => {
  it("sanitizes user names as DS01's slice names do", () => {
    expect(sanitizeSliceUser("alice")).toBe("alice");
    expect(sanitizeSliceUser("john.doe@uni.example")).toBe("john_doe");
    expect(sanitizeSliceUser("__we!!ird--name..")).toBe("we_ird_name");
    expect(sanitizeSliceUser("dom:user")).toBe("dom:user");
    const long = "maximilian.alexander.von-humboldt-research";
    const md5 = createHash("md5").update(long).digest("hex").slice(0, 4);
    // 27 characters end on "_": trimmed before the hash suffix is added.
    expect("maximilian_alexander_von_hu".length).toBe(27);
    expect(sanitizeSliceUser(long)).toBe(`maximilian_alexander_von_hu_${md5}`);
    const trailing = "abcdefghijklmnopqrstuvwxyz_.longer_than_thirty_two";
    expect(sanitizeSliceUser(trailing)).toBe(`abcdefghijklmnopqrstuvwxyz_${createHash("md5").update(trailing).digest("hex").slice(0, 4)}`);
    expect(sanitizeSliceUser("x".repeat(32))).toBe("x".repeat(32));
  });

  it("reads usage_usec and memory.current of every user slice and maps slice names back through the group files", async () => {
    const root = await tempDir();
    const cgroup = path.join(root, "cgroup");
    const groups = path.join(root, "groups");
    const long = "maximilian.alexander.von-humboldt-research";
    await writeGroupFiles(groups, { "students.members": "alice\njohn.doe@uni.example\n", "researchers.members": `${long}\n` });
    await writeUserSlice(cgroup, "students", "alice", { usageUsec: 12_500_000, memoryCurrent: 2_147_483_648 });
    await writeUserSlice(cgroup, "students", "john_doe", { usageUsec: 1_000, memoryCurrent: 4096 });
    await writeUserSlice(cgroup, "researchers", sanitizeSliceUser(long), { usageUsec: 3_600_000_000, memoryCurrent: 0 });
    // No group file names this one: it keeps its slice name.
    await writeUserSlice(cgroup, "researchers", "ghost", { usageUsec: 5 });
    // Garbage in memory.current: the CPU time still counts, the memory series is left out.
    await writeUserSlice(cgroup, "phd-students", "zoe", { usageUsec: 2_000_000, memory: "max\n" });
    // Not DS01's: other slices and stray files are ignored.
    await writeUserSlice(cgroup, "students", "", { usageUsec: 1 });
    await mkdir(path.join(cgroup, "system.slice", "sshd.service"), { recursive: true });
    await writeFile(path.join(cgroup, "ds01.slice", "cgroup.procs"), "");

    const h = harness({ groups: createGroupsSource({ path: groups }), cgroups: createCgroupSource({ root: cgroup }), version: "test" });
    const { samples, text } = await h.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "cgroup" })).toBe(1);
    const cpu = Object.fromEntries(find(samples, "ds01_user_cpu_usage_seconds_total").map((s) => [`${s.labels.group}/${s.labels.user}`, s.value]));
    expect(cpu).toEqual({
      "students/alice": 12.5,
      "students/john.doe@uni.example": 0.001,
      [`researchers/${long}`]: 3600,
      "researchers/ghost": 0.000005,
      "phd-students/zoe": 2,
    });
    const memory = Object.fromEntries(find(samples, "ds01_user_memory_current_bytes").map((s) => [`${s.labels.group}/${s.labels.user}`, s.value]));
    expect(memory).toEqual({ "students/alice": 2_147_483_648, "students/john.doe@uni.example": 4096, [`researchers/${long}`]: 0 });
    expect(text).toContain("# TYPE ds01_user_cpu_usage_seconds_total counter");
  });

  it("a root without ds01.slice leaves the source down with a reason", async () => {
    const root = await tempDir();
    const h = harness({ cgroups: createCgroupSource({ root }), version: "test" });
    const { samples } = await h.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "cgroup" })).toBe(0);
    expect(reason(h, "cgroup")).toMatch(/no ds01\.slice under .*is it the cgroup v2 mount/);
  });
});

const eventLine = (type: string, t: number) => JSON.stringify({ timestamp: new Date(t).toISOString(), event_type: type, user: "alice" }) + "\n";

describe("lifecycle enforcement counts from the events log", () => {
  it("publishes all seven actions with exact 24 h counts, 0 for those absent, from the same window as ds01_events_24h_total", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "events.jsonl");
    let now = Date.parse("2026-06-01T12:00:00Z");
    const lines = [
      eventLine("maintenance.idle_kill", now - 60_000),
      eventLine("maintenance.idle_kill", now - 3_600_000),
      eventLine("maintenance.idle_kill", now - 25 * 3_600_000),
      eventLine("maintenance.runtime_kill", now - 120_000),
      eventLine("resource.oom_kill", now - 23 * 3_600_000),
      eventLine("alert.gpu_warning", now - 1_000),
      eventLine("alert.memory_warning", now - 1_000),
      eventLine("alert.container_warning", now - 1_000),
      eventLine("alert.container_warning", now - 2_000),
      eventLine("gpu.allocate", now - 1_000),
    ];
    await writeFile(file, lines.join(""));
    const h = harness({ events: createEventsLog({ path: file, now: () => now }), version: "test" });
    let { samples } = await h.scrape();
    const lifecycle = () => Object.fromEntries(find(samples, "ds01_lifecycle_events_total").map((s) => [s.labels.action, s.value]));
    expect(lifecycle()).toEqual({
      idle_kill: 2,
      runtime_kill: 1,
      oom_kill: 1,
      gpu_warning: 1,
      memory_warning: 1,
      container_warning: 2,
      bare_metal_warning: 0,
    });
    expect(value(samples, "ds01_events_24h_total", { event_type: "maintenance.idle_kill" })).toBe(2);
    // Two hours on: the OOM kill leaves the window, nothing vanishes.
    now += 2 * 3_600_000;
    ({ samples } = await h.scrape());
    expect(lifecycle()).toMatchObject({ oom_kill: 0, idle_kill: 2 });
    expect(Object.keys(lifecycle()).sort()).toEqual(LIFECYCLE_ACTIONS.map((a) => a.action).sort());
  });

  it("with an events log that is missing, the actions are absent until it can be read", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "events.jsonl");
    const h = harness({ events: createEventsLog({ path: file }), version: "test" });
    let { samples } = await h.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "events" })).toBe(0);
    expect(find(samples, "ds01_lifecycle_events_total")).toEqual([]);
    await writeFile(file, eventLine("bare_metal.warning", Date.now() - 1000));
    ({ samples } = await h.scrape());
    expect(value(samples, "ds01_lifecycle_events_total", { action: "bare_metal_warning" })).toBe(1);
    expect(find(samples, "ds01_lifecycle_events_total")).toHaveLength(7);
  });
});

describe("per-user GPU counts", () => {
  it("ds01_user_gpus_allocated counts a user's distinct slots; two containers on one slot count once", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "gpu-state.json");
    const holders = [
      { container: "a._.1001", user: "alice", interface: "atomic" },
      { container: "b._.1001", user: "alice", interface: "atomic" },
    ];
    await writeFile(file, JSON.stringify({ gpus: { "0": { containers: holders }, "1": { containers: [holders[0]] } } }));
    const h = harness({ snapshot: createStateFileSource({ path: file }), version: "test" });
    const { samples } = await h.scrape();
    expect(value(samples, "ds01_user_gpus_allocated", { user: "alice" })).toBe(2);
    expect(value(samples, "ds01_user_mig_allocated", { user: "alice" }), "allocations, as before").toBe(3);
  });
});

describe("the exporter started on these files alone", () => {
  it("--utmp-file, --groups-dir and --cgroup-root are enough to serve, each its own source", async () => {
    const root = await tempDir();
    const utmp = path.join(root, "utmp");
    await writeUtmp(utmp, LOGINS);
    const groups = path.join(root, "groups");
    await writeGroupFiles(groups, { "students.members": "alice\n" });
    const cgroup = path.join(root, "cgroup");
    await writeUserSlice(cgroup, "students", "alice", { usageUsec: 3_000_000, memoryCurrent: 4096 });
    const exporter = await runExporter({ metricsPort: 0, utmpFile: utmp, groupsDir: groups, cgroupRoot: cgroup });
    cleanups.push(() => exporter.close());
    const samples = parseExposition((await httpGet(`${exporter.url}/metrics`)).body);
    for (const source of ["utmp", "groups", "cgroup"]) expect(value(samples, "ds01_exporter_source_up", { source }), source).toBe(1);
    expect(value(samples, "ds01_ssh_sessions_total")).toBe(4);
    expect(value(samples, "ds01_user_cpu_usage_seconds_total", { user: "alice", group: "students" })).toBe(3);
    expect(value(samples, "ds01_user_group_info", { user: "alice", group: "students" })).toBe(1);
  });
});

describe("exposition", () => {
  it("every ds01_* metric of the catalog is exported by the collector from real sources", async () => {
    const root = await tempDir();
    const engine = await FakeEngine.start();
    cleanups.push(() => engine.stop());
    engine.handler = healthyEngine({
      c1: {
        Id: "c1",
        Name: "/thesis._.1001",
        Config: { Labels: { "ds01.user": "alice", "ds01.interface": "orchestration" } },
        State: { Status: "running" },
        HostConfig: { DeviceRequests: [{ Driver: "", Count: 0, DeviceIDs: ["MIG-1-0"], Capabilities: [["gpu"]] }] },
      },
      c2: { Id: "c2", Name: "/rogue", Config: { Labels: {} }, State: { Status: "running" }, HostConfig: { DeviceRequests: [{ Driver: "", Count: -1, Capabilities: [["gpu"]] }] } },
    });
    const map = path.join(root, "devices.json");
    await writeFile(
      map,
      JSON.stringify({
        gpus: [
          { index: 0, uuid: "GPU-0", model: "A100" },
          { index: 1, uuid: "GPU-1", model: "A100", migs: [{ device: 0, uuid: "MIG-1-0", profile: "3g.40gb", gpu_instance_id: 2 }] },
        ],
      }),
    );
    const events = path.join(root, "events.jsonl");
    await writeFile(events, eventLine("maintenance.idle_kill", Date.now() - 1000));
    const utmp = path.join(root, "utmp");
    await writeUtmp(utmp, LOGINS);
    const groups = path.join(root, "groups");
    await writeGroupFiles(groups, { "students.members": "alice\n" });
    await writeUserSlice(path.join(root, "cgroup"), "students", "alice", { usageUsec: 1_000_000, memoryCurrent: 1024 });
    await mkdir(path.join(root, "state"));
    const h = harness({
      snapshot: createDockerSource({ socketPath: engine.socketPath, deviceMapFile: map }),
      events: createEventsLog({ path: events }),
      stateDir: createStateDirSource({ path: path.join(root, "state") }),
      sessions: createUtmpSource({ path: utmp }),
      groups: createGroupsSource({ path: groups }),
      cgroups: createCgroupSource({ root: path.join(root, "cgroup") }),
      version: "test",
    });
    const { text, samples } = await h.scrape();
    const names = new Set(parseExposition(text).map((s) => s.name));
    const missing = Object.values(ds01)
      .map((m) => m.name)
      .filter((n) => !names.has(n));
    expect(missing).toEqual([]);
    for (const source of ["docker", "events", "state_dir", "utmp", "groups", "cgroup"]) expect(value(samples, "ds01_exporter_source_up", { source }), source).toBe(1);
    expect(find(samples, "ds01_unmanaged_gpu_container")[0]!.labels).toEqual({ container: "rogue", user: "unknown", gpu_count: "ALL", access_type: "all", running: "true" });
    expect(find(samples, "ds01_mig_mapping_status").map((s) => [s.labels, s.value])).toEqual([[{ mapped: "1", unmapped: "0" }, 1]]);
  });
});
