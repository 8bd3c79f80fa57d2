import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { freePort } from "../../cli/local/ports";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { loadStackConfigFile, readStackFile, stackFilePath, validateStackConfig, type StackConfig } from "../../components/config";
import { resourceName } from "../../components/render";
import { serviceSpecs } from "../../components/services";
import { SERVICE_NAMES, type ServiceName } from "../../components/spec";
import { Dockerd, engine } from "../exporter-ds01/support/dockerd";
import { httpGet, value } from "../exporter/helpers";
import { runStack, stackFile, type StackRun } from "../stack/harness";
import { NVIDIA_SMI_MIG } from "../support/fake-nvidia-smi";
import { call, createContainer, deployStack, removeContainer, type CreatedContainer, type DeployOptions } from "./deploy";
import { importStandIn, standIns, type StandIn } from "./images";
import type { Upload } from "./translate";

/**
 * The dev and prod Docker stacks as `pulumi up` would create them, in a real Docker engine: the
 * resources the program declares under the Pulumi mocks, translated input by input into Engine
 * API calls (translate.ts refuses any input it does not implement). What differs from a real host
 * is only what cannot exist here, and the test says so:
 * - host ports: free ones (`ports`, `exporter.simulatedDcgmPort`), so parallel runs cannot clash;
 * - prod's DS01 paths: the engine's own socket and temp dirs, and `exporter.dockerGroupId` the
 *   group owning that socket;
 * - images: stand-ins (images.ts); the exporter's is built from exporter/Dockerfile;
 * - NVIDIA: a stand-in `nvidia-container-runtime-hook` on dockerd's PATH registers the engine's
 *   NVIDIA device driver, so device requests are accepted; `nvidia-smi` is a stand-in script.
 */

const STACKS = ["dev", "prod"] as const;
const MIG_3G = "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f";
const GPU_0 = "GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77";
const TEST_RULES = "rules/stack-test.yml";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a value (not undefined) or the deadline passes; returns the last value. */
async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, last: () => string = () => ""): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await check().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s. ${last()}`);
    await sleep(1_000);
  }
}

interface Inspect {
  State: { Status: string; Health?: { Status: string; Log?: { Output: string }[] } };
  Config: { User: string };
  HostConfig: { GroupAdd: string[] | null; PortBindings: Record<string, { HostIp: string; HostPort: string }[]> };
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> };
}

async function inspect(socketPath: string, id: string): Promise<Inspect> {
  return (await call(socketPath, "GET", `/containers/${id}/json`)) as Inspect;
}

/** stdout+stderr of a container (the engine's multiplexed stream, frames unpacked). */
async function logs(socketPath: string, id: string): Promise<string> {
  const reply = await engine(socketPath, "GET", `/containers/${id}/logs?stdout=1&stderr=1&tail=30`);
  return typeof reply.body === "string" ? reply.body.replace(/[\u0000-\u0008]/g, "") : JSON.stringify(reply.body);
}

async function json<T>(url: string, method = "GET"): Promise<T> {
  const r = await httpGet(url, { method });
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  return JSON.parse(r.body) as T;
}

/** A config change for the replacement step: one more rule file, listed in prometheus.yml, holding two always-firing alerts. */
function withTestRules(uploads: readonly Upload[]): Upload[] {
  return uploads.map((u) => {
    if (!u.file.endsWith("/prometheus.yml")) return u;
    const cfg = parse(u.content) as { rule_files?: string[] };
    return { ...u, content: stringify({ ...cfg, rule_files: [...(cfg.rule_files ?? []), TEST_RULES] }) };
  }).concat(
    uploads
      .filter((u) => u.file.endsWith("/prometheus.yml"))
      .map((u) => ({
        ...u,
        file: path.posix.join(path.posix.dirname(u.file), TEST_RULES),
        content: stringify({
          groups: [
            {
              name: "stack-test",
              rules: [
                { alert: "StackTestAlert", expr: "vector(1)", labels: { severity: "info" } },
                { alert: "StackTestSilenced", expr: "vector(1)", labels: { severity: "info" } },
              ],
            },
          ],
        }),
      })),
  );
}

describe("the Docker stacks in a real Docker engine", () => {
  let dockerd: Dockerd | undefined;
  let whyNot = "";
  let work = "";
  let hookDir = "";
  const report: string[] = [];
  let images: Record<string, StandIn> = {};

  beforeAll(async () => {
    hookDir = await mkdtemp(path.join(tmpdir(), "nvidia-hook-"));
    // dockerd registers its NVIDIA device driver only when the toolkit's hook is on its PATH; at
    // container start runc runs it as a prestart hook. This one accepts and does nothing.
    await writeFile(path.join(hookDir, "nvidia-container-runtime-hook"), "#!/bin/sh\ncat > /dev/null\nexit 0\n", { mode: 0o755 });
    const started = await Dockerd.start({ pathPrefix: hookDir });
    if (typeof started === "string") {
      whyNot = started;
      return;
    }
    dockerd = started;
    work = await mkdtemp(path.join(tmpdir(), "docker-stack-"));
    images = standIns(loadStackConfigFile(stackFilePath("prod")).images, NVIDIA_SMI_MIG);
    for (const [name, s] of Object.entries(images)) await importStandIn(dockerd.socketPath, path.join(work, `rootfs-${name}`), s);
  }, 420_000);

  afterAll(async () => {
    await dockerd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
    if (hookDir) await rm(hookDir, { recursive: true, force: true });
    if (report.length > 0) process.stdout.write(`\nDocker stacks in a real engine:\n${report.map((l) => `  ${l}`).join("\n")}\n`);
  }, 120_000);

  for (const stack of STACKS) {
    describe(stack, () => {
      let cfg: StackConfig;
      let run: StackRun;
      let created: CreatedContainer[] = [];
      let opts: DeployOptions;
      let ds01Dir = "";
      const byService = (s: ServiceName): CreatedContainer | undefined => created.find((c) => c.name === resourceName(cfg, s));
      const hostPort = (s: ServiceName): string => `http://127.0.0.1:${cfg.ports[s]}`;

      beforeAll(async () => {
        if (!dockerd) return;
        const file = readStackFile(stackFile(stack));
        const raw = file.plain;
        const ports = Object.fromEntries(await Promise.all(SERVICE_NAMES.map(async (s) => [s, await freePort()] as const)));
        const exporter: Record<string, unknown> = { ...(raw["exporter"] as Record<string, unknown>) };
        if (exporter["simulation"]) exporter["simulatedDcgmPort"] = await freePort();
        if (exporter["dockerSocket"]) {
          ds01Dir = await mkdtemp(path.join(tmpdir(), "ds01-host-"));
          await chmod(ds01Dir, 0o755);
          await mkdir(path.join(ds01Dir, "log"), { mode: 0o755 });
          await mkdir(path.join(ds01Dir, "lib"), { mode: 0o755 });
          await writeFile(path.join(ds01Dir, "log", "events.jsonl"), `${JSON.stringify({ timestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"), event_type: "gpu.allocate", user: "alice" })}\n`, { mode: 0o644 });
          exporter["dockerSocket"] = dockerd.socketPath;
          exporter["dockerGroupId"] = (await stat(dockerd.socketPath)).gid;
          exporter["eventsFile"] = path.join(ds01Dir, "log", "events.jsonl");
          exporter["stateDir"] = path.join(ds01Dir, "lib");
        }
        run = await runStack(stack, { plain: { ports, exporter } });
        if (run.error) throw run.error;
        cfg = validateStackConfig({ plain: { ...raw, ports, exporter }, secretKeys: file.secretKeys });
        const noBinary = new Set(Object.values(images).filter((s) => s.noBinary).map((s) => s.image));
        opts = { socketPath: dockerd.socketPath, work, start: (_c, image) => !noBinary.has(image) };
        created = await deployStack(run, opts);
        for (const c of created) report.push(`${stack}: ${c.name} (${c.image}): ${c.started ? "started" : "created only; not run: no binary"}`);
      }, 420_000);

      afterAll(async () => {
        if (!dockerd) return;
        for (const c of created) await removeContainer(dockerd.socketPath, c.id).catch(() => undefined);
        const rest = (await call(dockerd.socketPath, "GET", "/containers/json?all=1")) as { Id: string }[];
        for (const c of rest) await removeContainer(dockerd.socketPath, c.Id).catch(() => undefined);
        await call(dockerd.socketPath, "POST", "/volumes/prune", undefined, undefined, [200]).catch(() => undefined);
        for (const v of ((await call(dockerd.socketPath, "GET", "/volumes")) as { Volumes: { Name: string }[] | null }).Volumes ?? []) {
          await call(dockerd.socketPath, "DELETE", `/volumes/${v.Name}`, undefined, undefined, [204, 404]).catch(() => undefined);
        }
        await call(dockerd.socketPath, "POST", "/networks/prune", undefined, undefined, [200]).catch(() => undefined);
        if (ds01Dir) await rm(ds01Dir, { recursive: true, force: true });
      }, 120_000);

      it("starts every container with a binary here and creates the others", (ctx) => {
        if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
        const expected = serviceSpecs(cfg).map((s) => s.resourceName).sort();
        expect(created.map((c) => c.name).sort()).toEqual(expected);
        const started = created.filter((c) => c.started).map((c) => c.name);
        expect(started.length).toBeGreaterThanOrEqual(4);
        for (const s of ["prometheus", "alertmanager", "nodeExporter", "exporter"] as const) expect(started).toContain(byService(s)?.name);
      });

      it("every started container becomes healthy by its own declared health check", { timeout: 150_000 }, async (ctx) => {
        if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
        for (const c of created.filter((x) => x.started)) {
          expect((c.create.body["Healthcheck"] as { Test: string[] }).Test[0]).toBe("CMD");
          await eventually(
            `${c.name} healthy`,
            120_000,
            async () => ((await inspect(dockerd!.socketPath, c.id)).State.Health?.Status === "healthy" ? true : undefined),
          ).catch(async (err: unknown) => {
            const info = await inspect(dockerd!.socketPath, c.id);
            throw new Error(`${String(err)} state ${JSON.stringify(info.State)}; logs: ${await logs(dockerd!.socketPath, c.id)}`);
          });
        }
      });

      it("publishes exactly the configured ports on the configured address, and they answer", { timeout: 60_000 }, async (ctx) => {
        if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
        for (const spec of serviceSpecs(cfg)) {
          const c = created.find((x) => x.name === spec.resourceName)!;
          const info = await inspect(dockerd!.socketPath, c.id);
          const expected = Object.fromEntries(spec.ports.map((p) => [`${p.containerPort}/tcp`, [{ HostIp: cfg.bindAddresses[spec.name], HostPort: String(p.hostPort) }]]));
          expect(info.HostConfig.PortBindings, spec.resourceName).toEqual(expected);
          if (!c.started) continue;
          const live = Object.fromEntries(Object.entries(info.NetworkSettings.Ports).filter(([, b]) => b !== null && b.length > 0));
          expect(live, spec.resourceName).toEqual(expected);
          for (const p of spec.ports) {
            const probe = spec.healthCheck?.kind === "http" && p.containerPort === spec.healthCheck.port ? spec.healthCheck.path : "/metrics";
            const r = await httpGet(`http://${cfg.bindAddresses[spec.name]}:${p.hostPort}${probe}`);
            expect(r.status, `${spec.resourceName} ${p.hostPort}${probe}`).toBe(200);
          }
        }
      });

      it("Prometheus scrapes every started service by its configured name, all up, and loads every rule group", { timeout: 120_000 }, async (ctx) => {
        if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
        const startedNames = new Set(created.filter((c) => c.started).map((c) => c.name));
        interface Target {
          labels: { job: string };
          scrapeUrl: string;
          health: string;
          lastError: string;
        }
        let targets: Target[] = [];
        await eventually(
          "every started service's target up",
          100_000,
          async () => {
            targets = (await json<{ data: { activeTargets: Target[] } }>(`${hostPort("prometheus")}/api/v1/targets`)).data.activeTargets;
            const ours = targets.filter((t) => startedNames.has(new URL(t.scrapeUrl).hostname));
            return ours.length > 0 && ours.every((t) => t.health === "up") ? true : undefined;
          },
          () => JSON.stringify(targets.map((t) => [t.scrapeUrl, t.health, t.lastError])),
        );
        const scraped = new Set(targets.map((t) => new URL(t.scrapeUrl).hostname));
        for (const c of created.filter((x) => x.started)) expect(scraped, `${c.name} is scraped`).toContain(c.name);
        for (const t of targets) {
          const host = new URL(t.scrapeUrl).hostname;
          if (!startedNames.has(host)) report.push(`${stack}: target ${t.scrapeUrl} (job ${t.labels.job}) ${t.health}: its container is created only`);
        }
        const declared = created
          .find((c) => c.name === byService("prometheus")!.name)!
          .create.uploads.filter((u) => /\/rules\/[^/]+\.ya?ml$/.test(u.file))
          .flatMap((u) => (parse(u.content) as { groups: { name: string }[] }).groups.map((g) => g.name))
          .sort();
        expect(declared.length).toBeGreaterThan(0);
        interface Group {
          name: string;
          interval: number;
          rules: { name: string; health: string; lastError?: string }[];
        }
        // Groups evaluated every minute or faster must all have run; slower ones (capacity rollups) may still be pending.
        let pending: string[] = [];
        const loaded = await eventually(
          "rule groups evaluated",
          90_000,
          async () => {
            const groups = (await json<{ data: { groups: Group[] } }>(`${hostPort("prometheus")}/api/v1/rules`)).data.groups;
            pending = groups.filter((g) => g.interval <= 60 && g.rules.some((r) => r.health === "unknown")).map((g) => `${g.name} (every ${g.interval}s)`);
            return pending.length === 0 ? groups : undefined;
          },
          () => `not yet evaluated: ${pending.join(", ")}`,
        );
        expect(loaded.map((g) => g.name).sort()).toEqual(declared);
        const rules = loaded.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));
        expect(rules.filter((r) => r.health === "err").map((r) => `${r.group}/${r.name}: ${r.lastError}`)).toEqual([]);
        const evaluated = rules.filter((r) => r.health === "ok").length;
        report.push(`${stack}: ${loaded.length} rule groups loaded, ${evaluated} of ${rules.length} rules evaluated without error (the rest in groups slower than 1m)`);
      });

      if (stack === "prod") {
        it("the exporter, as its non-root user with the socket's group, publishes DS01 allocations with slots from nvidia-smi -L", { timeout: 90_000 }, async (ctx) => {
          if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
          const ex = byService("exporter")!;
          const info = await inspect(dockerd!.socketPath, ex.id);
          const gid = (await stat(dockerd!.socketPath)).gid;
          expect(info.Config.User).toBe("65534:65534");
          expect(info.HostConfig.GroupAdd).toEqual([String(gid)]);
          // DS01's users' containers in the same engine, with device requests naming a MIG device and a full GPU.
          const user = async (name: string, who: string, uuid: string) =>
            call(dockerd!.socketPath, "POST", `/containers/create?name=${name}`, {
              Image: images["cadvisor"]!.image,
              Labels: { "ds01.user": who, "ds01.interface": "orchestration", "ds01.managed": "true" },
              HostConfig: { NetworkMode: "none", DeviceRequests: [{ Driver: "nvidia", DeviceIDs: [uuid], Capabilities: [["gpu"]] }] },
            });
          await user("alice-thesis", "alice", MIG_3G);
          await user("bob-train", "bob", GPU_0);
          const page = await eventually("allocations published", 60_000, async () => {
            const body = (await httpGet(`${hostPort("exporter")}/metrics`)).body;
            return value(body, "ds01_gpu_allocated", { gpu_slot: "0", user: "bob" }) === 1 ? body : undefined;
          });
          expect(value(page, "ds01_exporter_source_up", { source: "docker" })).toBe(1);
          expect(value(page, "ds01_exporter_source_up", { source: "nvidia_smi" })).toBe(1);
          expect(value(page, "ds01_gpu_allocated", { gpu_slot: "1.0", gpu_uuid: MIG_3G, profile: "3g.20gb", container: "alice-thesis", user: "alice" })).toBe(1);
          expect(value(page, "ds01_gpu_allocated", { gpu_slot: "0", gpu_uuid: GPU_0, profile: "full", container: "bob-train", user: "bob" })).toBe(1);
          expect(value(page, "ds01_mig_mapping_status")).toBe(1);
          // The stack's own GPU containers (DCGM, this exporter) are infrastructure, not unmanaged GPU users.
          expect(value(page, "ds01_unmanaged_gpu_count")).toBe(0);
          expect(value(page, "ds01_events_24h_total", { event_type: "gpu.allocate" })).toBe(1);
          expect(value(page, "ds01_exporter_source_up", { source: "events" })).toBe(1);
          expect(value(page, "ds01_exporter_source_up", { source: "state_dir" })).toBe(1);
          report.push(`${stack}: exporter as 65534:65534 + group ${gid} read 2 DS01 containers through the socket; slots 1.0 (3g.20gb) and 0 from nvidia-smi -L`);
        });
      }

      it("created-only containers hold every uploaded file, readable by the container's declared user", { timeout: 90_000 }, async (ctx) => {
        if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
        for (const c of created.filter((x) => !x.started)) {
          const files = c.create.uploads.map((u) => u.file);
          const declaredUser = (c.create.body["User"] as string | undefined) ?? ((await call(dockerd!.socketPath, "GET", `/images/${encodeURIComponent(c.image)}/json`)) as { Config: { User: string } }).Config.User;
          if (files.length === 0) {
            report.push(`${stack}: ${c.name}: no uploaded files`);
            continue;
          }
          // The created container as an image, its files read by `cat` as the declared user.
          const committed = (await call(dockerd!.socketPath, "POST", `/commit?container=${c.id}&repo=gm-files-check&tag=${c.name}`)) as { Id: string };
          const reader = (await call(dockerd!.socketPath, "POST", `/containers/create?name=${c.name}-files`, {
            Image: committed.Id,
            User: declaredUser || "0",
            Entrypoint: ["/bin/cat"],
            Cmd: files,
            HostConfig: { NetworkMode: "none" },
          })) as { Id: string };
          await call(dockerd!.socketPath, "POST", `/containers/${reader.Id}/start`);
          const waited = (await call(dockerd!.socketPath, "POST", `/containers/${reader.Id}/wait`)) as { StatusCode: number };
          const out = await logs(dockerd!.socketPath, reader.Id);
          expect(waited.StatusCode, `${c.name} as ${declaredUser}: ${out}`).toBe(0);
          await removeContainer(dockerd!.socketPath, reader.Id);
          await call(dockerd!.socketPath, "DELETE", `/images/${committed.Id}?force=1`, undefined, undefined, [200, 404]);
          report.push(`${stack}: ${c.name}: ${files.length} uploaded files read by user ${declaredUser || "root"}`);
        }
      });

      it("replacing Prometheus and Alertmanager (a config change) keeps TSDB samples and silences; a test alert reaches Alertmanager", { timeout: 150_000 }, async (ctx) => {
        if (!dockerd) ctx.skip(`dockerd cannot start here: ${whyNot}`);
        const prom = byService("prometheus")!;
        const am = byService("alertmanager")!;
        const silence = await (async () => {
          const r = await fetch(`${hostPort("alertmanager")}/api/v2/silences`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({
              matchers: [{ name: "alertname", value: "StackTestSilenced", isRegex: false, isEqual: true }],
              startsAt: new Date().toISOString(),
              endsAt: new Date(Date.now() + 3_600_000).toISOString(),
              createdBy: "docker-stack test",
              comment: "kept across a container replacement",
            }),
            signal: AbortSignal.timeout(10_000),
          });
          expect(r.status).toBe(200);
          return ((await r.json()) as { silenceID: string }).silenceID;
        })();
        // Samples up to a time whose scrapes have all been appended (sample timestamps are scrape
        // start times, appended within the scrape timeout).
        const samplesAt = async (at: number): Promise<number | undefined> => {
          const url = `${hostPort("prometheus")}/api/v1/query?query=${encodeURIComponent("sum(count_over_time(up[10m]))")}&time=${at}`;
          const n = Number((await json<{ data: { result: { value: [number, string] }[] } }>(url)).data.result[0]?.value[1]);
          return n > 0 ? n : undefined;
        };
        let at = 0;
        const before = await eventually("samples in the TSDB", 40_000, async () => {
          at = (Date.now() - 15_000) / 1000;
          return samplesAt(at);
        });
        const samplesQuery = { at };

        for (const c of [prom, am]) await removeContainer(dockerd!.socketPath, c.id);
        const replaced = [
          await createContainer({ ...opts, uploads: (c) => withTestRules(c.uploads) }, prom.create, prom.image),
          await createContainer(opts, am.create, am.image),
        ];
        created = created.map((c) => replaced.find((r) => r.name === c.name) ?? c);
        for (const s of ["prometheus", "alertmanager"] as const) {
          await eventually(`${s} ready after replacement`, 60_000, async () => ((await httpGet(`${hostPort(s)}/-/ready`)).status === 200 ? true : undefined));
        }
        const after = await samplesAt(samplesQuery.at);
        expect(after).toBe(before);
        const kept = await json<{ id: string; status: { state: string } }>(`${hostPort("alertmanager")}/api/v2/silence/${silence}`);
        expect(kept.status.state).toBe("active");

        interface AmAlert {
          labels: { alertname: string };
          status: { state: string; silencedBy: string[] };
        }
        const alerts = await eventually("test alerts delivered to Alertmanager", 90_000, async () => {
          const got = await json<AmAlert[]>(`${hostPort("alertmanager")}/api/v2/alerts`);
          const names = new Set(got.map((a) => a.labels.alertname));
          return names.has("StackTestAlert") && names.has("StackTestSilenced") ? got : undefined;
        });
        expect(alerts.find((a) => a.labels.alertname === "StackTestAlert")!.status.state).toBe("active");
        expect(alerts.find((a) => a.labels.alertname === "StackTestSilenced")!.status).toMatchObject({ state: "suppressed", silencedBy: [silence] });
        report.push(`${stack}: after replacement ${after} samples of up kept, silence ${silence} kept and applied, test alert delivered by name`);
      });
    });
  }
});
