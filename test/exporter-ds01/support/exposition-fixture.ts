import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Registry } from "prom-client";
import { setQuietLog } from "../../../exporter/core/log";
import { renderMetrics } from "../../../exporter/core/render";
import { createCgroupSource } from "../../../exporter/ds01/cgroup-source";
import { createDs01Collector } from "../../../exporter/ds01/collector";
import { createEventsLog } from "../../../exporter/ds01/events-log";
import { createGroupsSource } from "../../../exporter/ds01/groups-source";
import { createStateFileSource } from "../../../exporter/ds01/state-file-source";
import { createUtmpSource } from "../../../exporter/ds01/utmp-source";
import { UT, writeGroupFiles, writeUserSlice, writeUtmp } from "./host-files";

/**
 * One fixed DS01 host, every source of the DS01 collector fed from files, for comparing the
 * exporter's exposition across changes to how it is kept and written: label values with every
 * character that needs escaping, a container listed twice on one slot, full GPUs and MIG
 * instances, events inside and outside the window on a fixed clock, groups, slices and logins.
 */

/** The events log's clock: events are placed around it, so counts never depend on when the test runs. */
export const FIXTURE_NOW = Date.parse("2026-03-01T12:00:00.000Z");

const TRICKY = ["plain", 'quote " inside', "back\\slash", "new\nline", "unicode é 🚀 ✓", "trailing\\", '\\"both\\"'];
const EVENT_TYPES = ["container.create", "container.start", "container.stop", "container.remove", "gpu.allocate", "gpu.release", "user.login", "maintenance.idle_kill"];

async function writeInputs(dir: string): Promise<void> {
  const lines = ["GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-00000000-0000-0000-0000-000000000000)", "GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-11111111-0000-0000-0000-000000000000)"];
  lines.push("GPU 2: NVIDIA A100-SXM4-80GB (UUID: GPU-22222222-0000-0000-0000-000000000000)");
  const profiles = ["1g.10gb", "2g.20gb", "3g.40gb"];
  for (let d = 0; d < 3; d++) lines.push(`  MIG ${profiles[d]}     Device  ${d}: (UUID: MIG-22222222-0000-0000-0000-00000000000${d})`);
  await writeFile(path.join(dir, "nvidia-smi-L.txt"), lines.join("\n") + "\n");

  const gpus: Record<string, { type: string; containers: unknown[] }> = {};
  const slots = ["0", "1", "2.0", "2.1", "2.2"];
  const interfaces = ["orchestration", "atomic", "api", "other", "docker", "unknown-ui"];
  for (let i = 0; i < 120; i++) {
    const slot = slots[i % slots.length]!;
    const user = `${TRICKY[(i >> 2) % TRICKY.length]}-${i % 9}`;
    (gpus[slot] ??= { type: slot.includes(".") ? "mig_instance" : "full_gpu", containers: [] }).containers.push({
      container: `job-${i} ${TRICKY[i % TRICKY.length]}._.${1000 + (i % 9)}`,
      user,
      allocated_at: "2026-01-01T00:00:00Z",
      interface: interfaces[i % interfaces.length],
      ...(i % 4 === 0 ? { status: "exited" } : i % 4 === 1 ? { status: "running" } : {}),
    });
  }
  // The same container twice on one slot: one series, as DS01's own exporter has it.
  gpus["1"]!.containers.push({ ...(gpus["1"]!.containers[0] as object) });
  await writeFile(path.join(dir, "gpu-state.json"), JSON.stringify({ gpus, mig_enabled: true, last_updated: "2026-03-01T11:59:00Z" }));

  const events: string[] = [];
  for (let i = 0; i < 3000; i++) {
    // From 30 h before the clock to 1 min before it: the first 6 h leave the window.
    const t = FIXTURE_NOW - 30 * 3600_000 + Math.floor((i * (30 * 3600_000 - 60_000)) / 3000);
    events.push(JSON.stringify({ timestamp: new Date(t).toISOString(), event_type: EVENT_TYPES[(i * 7) % EVENT_TYPES.length], user: `user${i % 5}`, schema_version: 1 }));
  }
  // A type whose every event is older than the window, and lines that are skipped.
  events.splice(10, 0, JSON.stringify({ timestamp: new Date(FIXTURE_NOW - 48 * 3600_000).toISOString(), event_type: "system.reboot" }), "not json", "{}");
  await writeFile(path.join(dir, "events.jsonl"), events.join("\n") + "\n");

  await writeGroupFiles(path.join(dir, "groups"), {
    "students.members": "alice\nbob.smith@example.org\n# former\n\ncarol\n",
    "staff.members": "dana\nalice\n",
    "archived.members": "old\n",
  });
  const cgroupRoot = path.join(dir, "cgroup");
  await writeUserSlice(cgroupRoot, "students", "alice", { usageUsec: 12_345_678, memoryCurrent: 1_073_741_824 });
  await writeUserSlice(cgroupRoot, "students", "bob_smith", { usageUsec: 500_001, memoryCurrent: 4096 });
  await writeUserSlice(cgroupRoot, "staff", "dana", { usageUsec: 3, memoryCurrent: 0 });
  await writeUserSlice(cgroupRoot, "staff", "ghost", { usageUsec: 77_000_000 });
  await writeUtmp(path.join(dir, "utmp"), [
    { type: UT.USER_PROCESS, pid: process.pid, line: "pts/0", user: "alice" },
    { type: UT.USER_PROCESS, pid: process.pid, line: "pts/1", user: "alice" },
    { type: UT.USER_PROCESS, pid: process.pid, line: "pts/2", user: "dana" },
    { type: UT.DEAD_PROCESS, pid: 0, line: "pts/3", user: "" },
  ]);
}

/** A family with its samples sorted: the sources' own series come in the order their reads first finished. */
function sortSamples(family: string): string {
  const lines = family.split("\n");
  const head = lines.filter((l) => l.startsWith("#"));
  const samples = lines.filter((l) => l !== "" && !l.startsWith("#")).sort();
  return [...head, ...samples].join("\n") + (family.endsWith("\n") ? "\n" : "");
}

/**
 * The DS01 collector's page for the fixed host written into `dir` (an empty directory), as the
 * exporter serves it and as prom-client's Registry writes it. Only the source timestamps change
 * from run to run; they read `<time>`. The sources' own families are sorted.
 */
export async function fixtureExposition(dir: string): Promise<{ served: string; registry: string }> {
  setQuietLog(true);
  await mkdir(dir, { recursive: true });
  await writeInputs(dir);
  const collector = createDs01Collector({
    version: "fixture",
    snapshot: createStateFileSource({ path: path.join(dir, "gpu-state.json"), deviceMapFile: path.join(dir, "nvidia-smi-L.txt") }),
    events: createEventsLog({ path: path.join(dir, "events.jsonl"), now: () => FIXTURE_NOW, maxEventTypes: 8 }),
    groups: createGroupsSource({ path: path.join(dir, "groups") }),
    cgroups: createCgroupSource({ root: path.join(dir, "cgroup") }),
    sessions: createUtmpSource({ path: path.join(dir, "utmp") }),
    sourceTimeoutMs: 30_000,
  });
  const registry = new Registry();
  collector.register(registry);
  try {
    await collector.refresh();
    const pieces = await renderMetrics(registry);
    const served = Buffer.concat(pieces.map((p) => (typeof p === "string" ? Buffer.from(p) : p))).toString("utf8");
    const mask = (text: string): string =>
      text
        .replace(/^(ds01_exporter_source_last_success_timestamp_seconds\{[^}]*\}) \S+$/gm, "$1 <time>")
        .split("\n\n")
        .map((family) => (family.startsWith("# HELP ds01_exporter_source_") ? sortSamples(family) : family))
        .join("\n\n");
    return { served: mask(served), registry: mask(await registry.metrics()) };
  } finally {
    await collector.close();
  }
}
