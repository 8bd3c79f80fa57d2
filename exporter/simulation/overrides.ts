import { statSync } from "node:fs";
import { parseJsonNamed } from "../core/json-shape";
import { log } from "../core/log";
import { readRegularFileSync } from "../core/regular-file";
import * as z from "../core/zod";

/**
 * Overrides let a test (or a demo) drive the simulation into a condition: a hot GPU, an idle
 * allocated slot, a source that is down. The file is JSON; removing a key (or the file)
 * restores normal behaviour. Documented in docs/exporter.md.
 */
/** An optional number within [min, max]; whole numbers only where `int`. */
const bounded = (min: number, max: number, int = false) => z.optional((int ? z.int() : z.number()).check(z.gte(min), z.lte(max)));

const gpuOverrideSchema = z.strictObject({
  /** Forces DCGM_FI_DEV_GPU_TEMP (°C); memory temperature follows. */
  temperature: bounded(-50, 200),
  /** Forces DCGM_FI_DEV_POWER_USAGE (W). */
  powerWatts: bounded(0, 2000),
  /** Sets the last XID error (DCGM_FI_DEV_XID_ERRORS value and err_code); 0 clears it. */
  xid: bounded(0, 1000, true),
});

const slotOverrideSchema = z.strictObject({
  /** Forces the slot's utilisation in percent (0 = an idle slot). */
  utilization: bounded(0, 100),
  /** Keeps the slot allocated to this user (allocating it if free) while the override stays. */
  user: z.optional(z.string().check(z.minLength(1), z.maxLength(64), z.regex(/^[a-z_][a-z0-9_.-]*$/, "a Unix user name"))),
  /** Forces the framebuffer memory in use, as a percent of the slot's memory. */
  memoryUsedPercent: bounded(0, 100),
});

const drmOverrideSchema = z.strictObject({
  cpuUtilization: bounded(0, 100),
  memoryUtilization: bounded(0, 100),
  gpuUtilization: bounded(0, 100),
  pendingTasks: bounded(0, 1_000_000, true),
  allocationTimeMs: bounded(0, 3_600_000),
  /** Pins the worker pool size (scaling decisions pause). */
  workers: bounded(0, 1000, true),
});

const sourceState = z.optional(z.enum(["up", "down"]));
const count = z.int().check(z.gte(0));

export const simulationOverridesSchema = z.strictObject({
  /** Stops the random evolution; telemetry keeps its current values (overrides still apply). */
  freeze: z.optional(z.boolean()),
  gpus: z.optional(z.record(z.string().check(z.regex(/^[0-9]+$/, "a GPU index")), gpuOverrideSchema)),
  slots: z.optional(z.record(z.string().check(z.regex(/^[0-9]+(\.[0-9]+)?$/, "a slot such as 0 or 2.1")), slotOverrideSchema)),
  unmanaged: z.optional(z.strictObject({ total: count, running: count, allAccess: count })),
  /** "down" makes the simulated source fail its reads (DCGM answers 503). */
  sources: z.optional(z.strictObject({ ds01: sourceState, drm: sourceState, dcgm: sourceState })),
  drm: z.optional(drmOverrideSchema),
});

export type SimulationOverrides = z.infer<typeof simulationOverridesSchema>;
export type GpuOverride = z.infer<typeof gpuOverrideSchema>;
export type SlotOverride = z.infer<typeof slotOverrideSchema>;
export type DrmOverride = z.infer<typeof drmOverrideSchema>;

/** An overrides file is a few lines of JSON. */
const MAX_OVERRIDES_BYTES = 1024 * 1024;

export const NO_OVERRIDES: SimulationOverrides = Object.freeze({});

/** Something that yields the overrides in force now. */
export interface OverridesProvider {
  current(): SimulationOverrides;
}

export const staticOverrides = (value: SimulationOverrides = NO_OVERRIDES): OverridesProvider => ({
  current: () => value,
});

/**
 * Reads the overrides file, re-reading it only when a stat shows it changed (one stat per
 * call). A missing file means no overrides; an invalid one keeps the previous overrides and
 * logs why, so a half-written file cannot crash or reset a running demo.
 */
export class OverridesFile implements OverridesProvider {
  private signature = "";
  private value: SimulationOverrides = NO_OVERRIDES;

  constructor(private readonly path: string) {}

  current(): SimulationOverrides {
    let signature: string;
    try {
      const st = statSync(this.path);
      signature = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch {
      signature = "missing";
    }
    if (signature === this.signature) return this.value;
    this.signature = signature;
    if (signature === "missing") {
      this.value = NO_OVERRIDES;
      return this.value;
    }
    try {
      const text = readRegularFileSync(this.path, "simulation overrides file", MAX_OVERRIDES_BYTES).toString("utf8");
      this.value = text.trim() === "" ? NO_OVERRIDES : simulationOverridesSchema.parse(parseJsonNamed(text, "simulation overrides file"));
      log("info", "simulation overrides loaded", { path: this.path });
    } catch (err: unknown) {
      const message = err instanceof z.core.$ZodError ? err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") : err instanceof Error ? err.message : String(err);
      log("warn", "simulation overrides ignored (previous ones kept)", { path: this.path, error: message });
    }
    return this.value;
  }
}
