import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadStackConfigFile } from "../../components/config";
import { kubernetesServiceSpecs } from "../../components/platforms/kubernetes/specs";
import { DRM_API_KEY_FILE, HOST_PREFIX, runsService, serviceSpecs } from "../../components/services";
import type { ServiceSpec } from "../../components/spec";
import { FakeEngine, healthyEngine } from "../exporter-ds01/support/fake-engine";
import { httpGet, value } from "../exporter/helpers";
import { FakeNvidiaSmi } from "../support/fake-nvidia-smi";
import { REPO_ROOT } from "../support/pulumi-program";

/**
 * Every stack file's exporter, started with exactly the arguments the stack deploys it with. Only
 * what cannot exist here is pointed elsewhere: the listen address and ports (loopback, free), the
 * host paths below /host (a temp dir laid out the same way), the Docker socket (a stand-in engine),
 * and a cluster DNS name for the DRM coordinator (a closed loopback port). nvidia-smi is a stand-in
 * on PATH, as the NVIDIA toolkit's utility capability would provide it.
 */

const STACKS_DIR = path.join(REPO_ROOT, "stacks");
const STACK_FILES = readdirSync(STACKS_DIR).filter((f) => /^Pulumi\..+\.ya?ml$/.test(f));
const MIG_UUID = "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f";

function exporterSpecs(file: string): ServiceSpec[] {
  const cfg = loadStackConfigFile(path.join(STACKS_DIR, file));
  if (!runsService(cfg, "exporter")) return [];
  const specs = cfg.platform === "kubernetes" ? kubernetesServiceSpecs(cfg) : serviceSpecs(cfg);
  return specs.filter((s) => s.name === "exporter");
}

interface LocalRun {
  readonly args: string[];
  /** Flags whose value was changed to run here; every other argument is the deployed one. */
  readonly redirected: string[];
  readonly cleanup: () => Promise<void>;
  readonly readsDocker: boolean;
}

async function localArgs(spec: ServiceSpec, dir: string): Promise<LocalRun> {
  const cleanups: (() => Promise<void>)[] = [];
  const redirected: string[] = [];
  const args: string[] = [];
  let readsDocker = false;
  for (const arg of spec.args) {
    const eq = arg.indexOf("=");
    const [flag, val] = eq < 0 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
    const local = async (): Promise<string | undefined> => {
      switch (flag) {
        case "--bind":
          return "127.0.0.1";
        case "--metrics-port":
        case "--simulate-dcgm-port":
          return "0";
        case "--docker-socket": {
          const engine = await FakeEngine.start();
          cleanups.push(() => engine.stop());
          engine.handler = healthyEngine({
            c1: {
              Id: "c1",
              Name: "/thesis._.1001",
              Config: { Labels: { "ds01.user": "alice", "ds01.interface": "orchestration" } },
              State: { Status: "running" },
              HostConfig: { DeviceRequests: [{ Driver: "nvidia", Count: 0, DeviceIDs: [MIG_UUID], Capabilities: [["gpu"]] }] },
            },
          });
          readsDocker = true;
          return engine.socketPath;
        }
        case "--state-file": {
          const file = path.join(dir, val!);
          await mkdir(path.dirname(file), { recursive: true });
          await writeFile(file, JSON.stringify({ mig_enabled: true, gpus: { "1.0": { containers: [{ container: "thesis._.1001", user: "alice" }] } } }));
          return file;
        }
        case "--events-file": {
          const file = path.join(dir, val!);
          await mkdir(path.dirname(file), { recursive: true });
          await writeFile(file, "");
          return file;
        }
        case "--state-dir": {
          await mkdir(path.join(dir, val!), { recursive: true });
          return path.join(dir, val!);
        }
        case "--api-key-file": {
          expect(val).toBe(DRM_API_KEY_FILE);
          const file = path.join(dir, val!);
          await mkdir(path.dirname(file), { recursive: true });
          await writeFile(file, "test-drm-key\n", { mode: 0o400 });
          return file;
        }
        case "--drm-url":
          return new URL(val!).hostname === "127.0.0.1" ? undefined : "http://127.0.0.1:9";
        default:
          return undefined;
      }
    };
    const replaced = await local();
    if (replaced === undefined) args.push(arg);
    else {
      // Host paths are only ever passed below the container's /host mount.
      if (["--state-file", "--events-file", "--state-dir"].includes(flag)) expect(val!.startsWith(`${HOST_PREFIX}/`)).toBe(true);
      redirected.push(flag);
      args.push(`${flag}=${replaced}`);
    }
  }
  return { args, redirected, readsDocker, cleanup: async () => void (await Promise.all(cleanups.map((c) => c()))) };
}

function startExporter(args: string[], pathPrefix: string) {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin", "gpu-monitoring.cjs"), "exporter", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, PATH: `${pathPrefix}:${process.env.PATH ?? ""}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe("every stack file's exporter starts with its deployed arguments", () => {
  it("finds the stack files", () => {
    expect(STACK_FILES.length).toBeGreaterThanOrEqual(3);
  });

  for (const file of STACK_FILES) {
    const specs = exporterSpecs(file);
    for (const spec of specs) {
      it(`${file}: ${spec.resourceName} ${spec.args.join(" ")}`, { timeout: 120_000 }, async () => {
        const dir = await mkdtemp(path.join(tmpdir(), "stack-exporter-"));
        const smi = await FakeNvidiaSmi.create();
        const local = await localArgs(spec, dir);
        const run = startExporter(local.args, smi.dir);
        try {
          const deadline = Date.now() + 90_000;
          let url: string | undefined;
          while (!url && Date.now() < deadline) {
            url = /exporter listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(run.output())?.[1];
            const code = await Promise.race([run.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
            if (code !== undefined) throw new Error(`exporter exited with ${code}: ${run.output()}`);
          }
          expect(url, run.output()).toBeDefined();
          const page = (await httpGet(`${url!}/metrics`)).body;
          expect(value(page, "ds01_exporter_collector_success", { collector: "ds01" }) ?? value(page, "ds01_exporter_collector_success", { collector: "drm" })).toBeDefined();
          if (local.readsDocker) {
            // Slots resolved through nvidia-smi -L: the deployed args name no device map.
            expect(spec.args.some((a) => a.startsWith("--device-map"))).toBe(false);
            expect(value(page, "ds01_exporter_source_up", { source: "docker" })).toBe(1);
            expect(value(page, "ds01_exporter_source_up", { source: "nvidia_smi" })).toBe(1);
            expect(value(page, "ds01_gpu_allocated", { gpu_slot: "1.0", gpu_uuid: MIG_UUID, profile: "3g.20gb", user: "alice" })).toBe(1);
          }
          if (spec.args.some((a) => a.startsWith("--state-file="))) {
            expect(value(page, "ds01_exporter_source_up", { source: "state_file" })).toBe(1);
            expect(value(page, "ds01_gpu_allocated", { gpu_slot: "1.0", gpu_uuid: MIG_UUID, user: "alice" })).toBe(1);
          }
          // Only listen address, ports, host paths, the socket, the key file and cluster URLs were redirected.
          expect(local.redirected.every((f) => ["--bind", "--metrics-port", "--simulate-dcgm-port", "--docker-socket", "--state-file", "--events-file", "--state-dir", "--api-key-file", "--drm-url"].includes(f))).toBe(true);
        } finally {
          run.child.kill("SIGTERM");
          await Promise.race([run.exited, new Promise((r) => setTimeout(r, 5_000))]);
          run.child.kill("SIGKILL");
          await local.cleanup();
          await smi.remove();
          await rm(dir, { recursive: true, force: true });
        }
      });
    }
  }
});
