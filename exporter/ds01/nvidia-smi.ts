import { spawn } from "node:child_process";
import { log } from "../core/log";
import type { Source } from "../core/source";
import { EMPTY_DEVICE_MAP, parseNvidiaSmiList, type DeviceMap, type DeviceMapSource } from "./device-map";

export interface NvidiaSmiOptions {
  /** The program, found on PATH unless a path is given. Default `nvidia-smi`. */
  readonly command?: string;
  /** A map older than this is re-read at the next use. Default 60 s. */
  readonly refreshMs?: number;
  /** An unknown device ID re-reads the map, at most this often. Default 10 s. */
  readonly unknownRetryMs?: number;
  /** One run is killed (with its process group) after this long. Default 5 s. */
  readonly timeoutMs?: number;
  /** Output beyond this is an error. Default 1 MiB. */
  readonly maxBytes?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/**
 * The host's GPUs and MIG devices from `nvidia-smi -L`, run by the exporter itself: in a container
 * the NVIDIA container toolkit provides the program when the container asks for the `utility`
 * driver capability. The map is re-read when it is older than `refreshMs` and when a device ID
 * it lacks shows up (MIG reconfigured), bounded by a timeout. A failed or unreadable run keeps the
 * last good map, so a broken `nvidia-smi` never takes the allocations down with it; its error is
 * kept for the exporter's own metrics and logged once per distinct message.
 */
export class NvidiaSmiDeviceMap implements DeviceMapSource {
  private readonly command: string;
  private readonly refreshMs: number;
  private readonly unknownRetryMs: number;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private map: DeviceMap = EMPTY_DEVICE_MAP;
  private lastRun = Number.NEGATIVE_INFINITY;
  private running: Promise<DeviceMap> | undefined;
  private loggedError = "";
  /** The last run's error; undefined after a good run. */
  lastError: Error | undefined;
  /** Runs started, for tests. */
  runs = 0;

  constructor(opts: NvidiaSmiOptions = {}) {
    this.command = opts.command ?? "nvidia-smi";
    this.refreshMs = opts.refreshMs ?? 60_000;
    this.unknownRetryMs = opts.unknownRetryMs ?? 10_000;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
    this.now = opts.now ?? Date.now;
  }

  load(): Promise<DeviceMap> {
    return this.refreshIfOlder(this.refreshMs);
  }

  /** A device ID the map lacks was seen: re-read now unless the last run was very recent. */
  unknownDevice(): Promise<DeviceMap> {
    return this.refreshIfOlder(this.unknownRetryMs);
  }

  private refreshIfOlder(ageMs: number): Promise<DeviceMap> {
    if (this.running) return this.running;
    return this.now() - this.lastRun >= ageMs ? this.refresh() : Promise.resolve(this.map);
  }

  /**
   * The map's health as a source (`nvidia_smi`) for ds01_exporter_source_*: reading it refreshes
   * the map when due and fails while the last run failed, although the last good map stays in use.
   */
  healthSource(): Source<DeviceMap> {
    return {
      name: "nvidia_smi",
      read: async () => {
        const map = await this.load();
        if (this.lastError) throw this.lastError;
        return map;
      },
      close: async () => {},
    };
  }

  /** One run at a time; callers arriving meanwhile share it. */
  private refresh(): Promise<DeviceMap> {
    if (!this.running) {
      this.lastRun = this.now();
      this.runs++;
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async runOnce(): Promise<DeviceMap> {
    try {
      const text = await runBounded(this.command, ["-L"], this.timeoutMs, this.maxBytes);
      const parsed = parseNvidiaSmiList(text);
      if (parsed.gpus.length === 0) throw new Error(`${this.command} -L listed no GPU (${describeOutput(text)})`);
      // Same devices, same map object: the sources rebuild their snapshot only when it changes.
      if (sameDevices(parsed, this.map)) {
        this.lastError = undefined;
        return this.map;
      }
      if (this.map !== EMPTY_DEVICE_MAP) log("info", "GPU device map changed", { gpus: parsed.gpus.length, migDevices: parsed.migDevices.length });
      this.map = parsed;
      this.lastError = undefined;
      this.loggedError = "";
    } catch (err: unknown) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      if (this.lastError.message !== this.loggedError) {
        this.loggedError = this.lastError.message;
        log("warn", "device map from nvidia-smi unavailable; keeping the last one", { error: this.lastError.message, devices: this.map.byUuid.size });
      }
    }
    return this.map;
  }
}

function sameDevices(a: DeviceMap, b: DeviceMap): boolean {
  const key = (m: DeviceMap): string => [...m.byUuid.values()].map((e) => `${e.uuid}=${e.slot}/${e.profile}`).sort().join(",");
  return a.gpus.length === b.gpus.length && key(a) === key(b);
}

function describeOutput(text: string): string {
  const first = text.trim().split("\n")[0] ?? "";
  return first === "" ? "empty output" : `first line ${JSON.stringify(first.slice(0, 80))}`;
}

/**
 * Runs a program and returns its stdout; rejects on a non-zero exit, on more than `maxBytes`, and
 * after `timeoutMs`, when its whole process group is killed (a shell script's children included,
 * which would otherwise hold the pipe open).
 */
export function runBounded(command: string, args: readonly string[], timeoutMs: number, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, LC_ALL: "C" } });
    } catch (err: unknown) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = "";
    let settled = false;
    const finish = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const timer = setTimeout(() => finish(new Error(`${command} ${args.join(" ")} timed out after ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish(new Error(`${command} ${args.join(" ")} wrote more than ${maxBytes} bytes`));
      else chunks.push(chunk);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      if (stderr.length < 512) stderr += chunk.toString("utf8");
    });
    child.on("error", (err) => finish(new Error(`${command}: ${err.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) finish(undefined);
      else finish(new Error(`${command} ${args.join(" ")} exited with ${code ?? signal}${stderr.trim() ? `: ${stderr.trim().slice(0, 200)}` : ""}`));
    });
  });
}
