import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerSource, type DockerSource } from "../../exporter/ds01/docker-source";
import { createDs01Collector } from "../../exporter/ds01/collector";
import { CountingProxy, Dockerd } from "./support/dockerd";
import { find, Harness, value, type Sample } from "./support/metrics-text";

const GPU0 = "GPU-aaaaaaaa-0000-0000-0000-000000000000";
const GPU1 = "GPU-bbbbbbbb-1111-1111-1111-111111111111";
const GPU2 = "GPU-cccccccc-2222-2222-2222-222222222222";
const MIG_3G = "MIG-11111111-aaaa-aaaa-aaaa-000000000000";
const MIG_2G = "MIG-11111111-aaaa-aaaa-aaaa-000000000001";
const MIG_1G = "MIG-11111111-aaaa-aaaa-aaaa-000000000002";
const MIG_UNKNOWN = "MIG-deadbeef-dead-dead-dead-deaddeaddead";

const NVIDIA_SMI_L = `GPU 0: NVIDIA A100-PCIE-40GB (UUID: ${GPU0})
GPU 1: NVIDIA A100-PCIE-40GB (UUID: ${GPU1})
  MIG 3g.20gb     Device  0: (UUID: ${MIG_3G})
  MIG 2g.10gb     Device  1: (UUID: ${MIG_2G})
  MIG 1g.5gb      Device  2: (UUID: ${MIG_1G})
GPU 2: NVIDIA A100-PCIE-40GB (UUID: ${GPU2})
`;

/** `--gpus all`, `--gpus N` or `--gpus device=...`, as the docker CLI writes the device request. */
function gpuRequest(ids: string[] | "all" | number): Record<string, unknown> {
  let request: Record<string, unknown>;
  if (ids === "all") request = { Driver: "", Count: -1, DeviceIDs: null, Capabilities: [["gpu"]] };
  else if (typeof ids === "number") request = { Driver: "", Count: ids, DeviceIDs: null, Capabilities: [["gpu"]] };
  else request = { Driver: "", Count: 0, DeviceIDs: ids, Capabilities: [["gpu"]] };
  return { DeviceRequests: [request] };
}

let dockerd: Dockerd | undefined;
let whyNot = "";

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("Docker source against a real dockerd", () => {
  let d: Dockerd;
  let image: string;
  let proxy: CountingProxy;
  let source: DockerSource;
  let harness: Harness;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const started = await Dockerd.start();
    if (typeof started === "string") {
      whyNot = started;
      console.warn(`SKIPPING real-Docker tests: ${started}`);
      return;
    }
    d = dockerd = started;
    image = await d.importImage("ds01-test", "1");
    const deviceMap = path.join(d.dir, "nvidia-smi-L.txt");
    await writeFile(deviceMap, NVIDIA_SMI_L);
    const passwd = path.join(d.dir, "passwd");
    await writeFile(passwd, "root:x:0:0:root:/root:/bin/bash\ndave:x:1001:1001::/home/dave:/bin/bash\n");

    ids.alice = await d.create("alice-thesis", {
      Image: image,
      Labels: { "ds01.user": "alice", "ds01.interface": "orchestration" },
      HostConfig: gpuRequest([GPU0]),
    });
    // Several MIG devices under the nvidia runtime travel in a label, not in device requests.
    ids.bob = await d.create("bob-sweep", {
      Image: image,
      Labels: { "ds01.user": "bob", "ds01.interface": "api", "ds01.gpu.uuids": `${MIG_3G},${MIG_1G}` },
    });
    // AIME name, user from passwd, interface atomic; holds a MIG instance by device request.
    ids.dave = await d.create("project._.1001", { Image: image, HostConfig: gpuRequest([MIG_2G]) });
    // A DS01 container without GPUs still counts as a container.
    ids.erin = await d.create("erin-notebook", { Image: image, Labels: { "ds01.user": "erin", "ds01.interface": "orchestration" } });
    // Infrastructure: never counted, even with a GPU.
    ids.prom = await d.create("ds01-dcgm-exporter", { Image: image, HostConfig: gpuRequest("all") });
    ids.protected = await d.create("ops-tool", { Image: image, Labels: { "ds01.protected": "true" }, HostConfig: gpuRequest([GPU2]) });
    // GPU containers DS01 does not manage.
    ids.rogueAll = await d.create("rogue-all", { Image: image, HostConfig: gpuRequest("all") });
    ids.rogueOne = await d.create("rogue-one", { Image: image, HostConfig: gpuRequest([GPU2]) });
    // A compose project under a user's home asking for two GPUs by count.
    ids.rogueCompose = await d.create("rogue-compose", {
      Image: image,
      Labels: { "com.docker.compose.project": "llm", "com.docker.compose.project.working_dir": "/home/frank/llm" },
      HostConfig: gpuRequest(2),
    });
    // Plain container, neither DS01 nor GPU.
    ids.plain = await d.create("plain", { Image: image });

    proxy = await CountingProxy.start(d.dir, d.socketPath);
    source = createDockerSource({ socketPath: proxy.socketPath, deviceMapFile: deviceMap, passwdFile: passwd, minBackoffMs: 100 });
    harness = new Harness(createDs01Collector({ snapshot: source, version: "test", sourceTimeoutMs: 10_000 }));
  });

  afterAll(async () => {
    await harness?.collector.close();
    await proxy?.stop();
    await dockerd?.stop();
  });

  it("publishes allocations, GPU-equivalents, containers and per-user counts from labels and device requests", async (ctx) => {
    if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
    const { samples } = await harness.scrape();
    expect(value(samples, "ds01_exporter_source_up", { source: "docker" })).toBe(1);

    const allocated = find(samples, "ds01_gpu_allocated").map((s) => `${s.labels.gpu_slot}|${s.labels.profile}|${s.labels.container}|${s.labels.user}|${s.labels.interface}|${s.labels.gpu_uuid}`);
    expect(allocated.sort()).toEqual(
      [
        `0|full|alice-thesis|alice|orchestration|${GPU0}`,
        `1.0|3g.20gb|bob-sweep|bob|api|${MIG_3G}`,
        `1.2|1g.5gb|bob-sweep|bob|api|${MIG_1G}`,
        `1.1|2g.10gb|project._.1001|dave|atomic|${MIG_2G}`,
      ].sort(),
    );
    expect(value(samples, "ds01_gpu_equivalents", { gpu_slot: "1.0", user: "bob" })).toBeCloseTo(3 / 7, 12);
    expect(value(samples, "ds01_gpu_equivalents", { gpu_slot: "0", user: "alice" })).toBe(1);
    expect(value(samples, "ds01_user_gpu_equivalents", { user: "bob" })).toBeCloseTo(4 / 7, 8);
    expect(value(samples, "ds01_user_gpu_equivalents", { user: "dave" })).toBeCloseTo(2 / 7, 8);
    expect(value(samples, "ds01_user_mig_allocated", { user: "bob" })).toBe(2);
    expect(value(samples, "ds01_user_mig_allocated", { user: "alice" })).toBe(1);
    expect(value(samples, "ds01_user_containers_count", { user: "erin" })).toBe(1);
    expect(value(samples, "ds01_containers_total", { status: "created", interface: "orchestration" })).toBe(2);
    expect(value(samples, "ds01_containers_total", { status: "created", interface: "api" })).toBe(1);
    expect(value(samples, "ds01_containers_total", { status: "created", interface: "atomic" })).toBe(1);
    expect(value(samples, "ds01_unmanaged_gpu_count")).toBe(3);
    expect(value(samples, "ds01_unmanaged_gpu_all_access")).toBe(1);
    expect(value(samples, "ds01_unmanaged_gpu_running")).toBe(0);
    const unmanaged = find(samples, "ds01_unmanaged_gpu_container").map((s) => s.labels);
    expect(unmanaged.sort((a, b) => (a.container ?? "").localeCompare(b.container ?? ""))).toEqual([
      { container: "rogue-all", user: "unknown", gpu_count: "ALL", access_type: "all", running: "false" },
      { container: "rogue-compose", user: "frank", gpu_count: "2", access_type: "count", running: "false" },
      { container: "rogue-one", user: "unknown", gpu_count: "1", access_type: "specific", running: "false" },
    ]);
    expect(value(samples, "ds01_user_gpus_allocated", { user: "bob" })).toBe(2);
    // Three MIG devices in the map, none held by a container outside it.
    expect(find(samples, "ds01_mig_mapping_status").map((s) => [s.labels, s.value])).toEqual([[{ mapped: "3", unmapped: "0" }, 1]]);
    // GPU 1 is in MIG mode: allocatable only through its instances, so not a full slot.
    expect(find(samples, "ds01_gpu_slot_info").map((s) => s.labels.slot).sort()).toEqual(["0", "2"]);
    expect(find(samples, "ds01_gpu_slot_info", { gpu: "0" })[0]!.labels).toMatchObject({ slot: "0", gpu_slot: "0", mig_enabled: "false" });
    expect(find(samples, "ds01_mig_slot_info", { slot: "1.2" })[0]!.labels).toMatchObject({ gpu: "1", mig_uuid: MIG_1G, profile: "1g.5gb" });
    // Infrastructure and plain containers appear nowhere.
    const everything = JSON.stringify(samples);
    for (const name of ["ds01-dcgm-exporter", "ops-tool", "plain"]) expect(everything).not.toContain(name);
  });

  it("serves scrapes from its cache: no engine request in the steady state", async (ctx) => {
    if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
    await harness.scrape();
    const before = proxy.requests.length;
    expect(proxy.count("GET /containers/json")).toBe(1);
    for (let i = 0; i < 25; i++) await harness.scrape();
    expect(proxy.requests.slice(before)).toEqual([]);
  });

  it("follows create, rename and remove through the event stream without relisting", async (ctx) => {
    if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
    const listsBefore = proxy.count("GET /containers/json");
    const requestsBefore = proxy.requests.length;
    const carol = await d.create("carol-exp", {
      Image: image,
      Labels: { "ds01.user": "carol", "ds01.interface": "atomic" },
      HostConfig: gpuRequest([MIG_UNKNOWN, GPU2]),
    });
    let samples: Sample[] = await until("carol's container", async () => {
      const s = (await harness.scrape()).samples;
      return value(s, "ds01_user_containers_count", { user: "carol" }) === 1 ? s : undefined;
    });
    // The unknown MIG UUID maps to no slot: mapping status drops, the known GPU is still allocated.
    expect(value(samples, "ds01_mig_mapping_status")).toBe(0);
    expect(value(samples, "ds01_gpu_allocated", { container: "carol-exp", gpu_slot: "2" })).toBe(1);
    expect(find(samples, "ds01_gpu_allocated", { container: "carol-exp" })).toHaveLength(1);

    await d.rename(carol, "carol-renamed");
    samples = await until("the rename", async () => {
      const s = (await harness.scrape()).samples;
      return value(s, "ds01_gpu_allocated", { container: "carol-renamed", gpu_slot: "2" }) === 1 ? s : undefined;
    });
    expect(find(samples, "ds01_gpu_allocated", { container: "carol-exp" })).toHaveLength(0);

    await d.remove(carol);
    samples = await until("the removal", async () => {
      const s = (await harness.scrape()).samples;
      return find(s, "ds01_user_containers_count", { user: "carol" }).length === 0 ? s : undefined;
    });
    expect(value(samples, "ds01_mig_mapping_status")).toBe(1);
    expect(find(samples, "ds01_gpu_allocated", { user: "carol" })).toHaveLength(0);
    expect(proxy.count("GET /containers/json")).toBe(listsBefore);
    // Each change cost inspections of that one container only.
    const since = proxy.requests.slice(requestsBefore);
    expect(since.length).toBeGreaterThanOrEqual(2);
    for (const r of since) expect(r).toBe(`GET /containers/${carol}/json`);
  });

  it("resynchronises with a full list after the event stream breaks, catching changes made meanwhile", async (ctx) => {
    if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
    const listsBefore = proxy.count("GET /containers/json");
    const upBefore = await harness.up("docker");
    expect(upBefore).toBe(1);
    proxy.cutStreams();
    // Created while the stream is down: only a relist can see it.
    const frank = await d.create("frank-job", { Image: image, Labels: { "ds01.user": "frank" }, HostConfig: gpuRequest([GPU2]) });
    const samples = await until("the resync", async () => {
      const s = (await harness.scrape()).samples;
      return value(s, "ds01_user_containers_count", { user: "frank" }) === 1 ? s : undefined;
    });
    expect(value(samples, "ds01_exporter_source_up", { source: "docker" })).toBe(1);
    expect(value(samples, "ds01_gpu_allocated", { container: "frank-job", gpu_slot: "2", interface: "docker" })).toBe(1);
    expect(proxy.count("GET /containers/json")).toBe(listsBefore + 1);
    expect(source.stats.resyncs).toBeGreaterThanOrEqual(2);
    await d.remove(frank);
    await until("frank's removal", async () => {
      const s = (await harness.scrape()).samples;
      return find(s, "ds01_user_containers_count", { user: "frank" }).length === 0 ? true : undefined;
    });
  });

  it("reports docker down and keeps the last allocations when the engine goes away", async (ctx) => {
    if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
    const before = (await harness.scrape()).samples;
    expect(value(before, "ds01_gpu_allocated", { container: "alice-thesis" })).toBe(1);
    await proxy.stop();
    const after = await until("docker down", async () => {
      const s = (await harness.scrape()).samples;
      return value(s, "ds01_exporter_source_up", { source: "docker" }) === 0 ? s : undefined;
    });
    expect(value(after, "ds01_gpu_allocated", { container: "alice-thesis" })).toBe(1);
    expect(find(after, "ds01_gpu_allocated")).toHaveLength(find(before, "ds01_gpu_allocated").length);
    expect(value(after, "ds01_exporter_source_errors_total", { source: "docker" })).toBeGreaterThanOrEqual(1);
  });
});
