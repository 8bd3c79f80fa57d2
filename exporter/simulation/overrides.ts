import { readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { log } from "../core/log";

/**
 * Overrides let a test (or a demo) drive the simulation into a condition: a hot GPU, an idle
 * allocated slot, a source that is down. The file is JSON; removing a key (or the file)
 * restores normal behaviour. Documented in docs/exporter.md.
 */
const gpuOverrideSchema = z
  .object({
    /** Forces DCGM_FI_DEV_GPU_TEMP (°C); memory temperature follows. */
    temperature: z.number().finite().min(-50).max(200).optional(),
    /** Forces DCGM_FI_DEV_POWER_USAGE (W). */
    powerWatts: z.number().finite().min(0).max(2000).optional(),
    /** Sets the last XID error (DCGM_FI_DEV_XID_ERRORS value and err_code); 0 clears it. */
    xid: z.number().int().min(0).max(1000).optional(),
  })
  .strict();

const slotOverrideSchema = z
  .object({
    /** Forces the slot's utilisation in percent (0 = an idle slot). */
    utilization: z.number().finite().min(0).max(100).optional(),
    /** Keeps the slot allocated to this user (allocating it if free) while the override stays. */
    user: z.string().min(1).max(64).regex(/^[a-z_][a-z0-9_.-]*$/, "a Unix user name").optional(),
    /** Forces the framebuffer memory in use, as a percent of the slot's memory. */
    memoryUsedPercent: z.number().finite().min(0).max(100).optional(),
  })
  .strict();

const drmOverrideSchema = z
  .object({
    cpuUtilization: z.number().finite().min(0).max(100).optional(),
    memoryUtilization: z.number().finite().min(0).max(100).optional(),
    gpuUtilization: z.number().finite().min(0).max(100).optional(),
    pendingTasks: z.number().int().min(0).max(1_000_000).optional(),
    allocationTimeMs: z.number().finite().min(0).max(3_600_000).optional(),
    /** Pins the worker pool size (scaling decisions pause). */
    workers: z.number().int().min(0).max(1000).optional(),
  })
  .strict();

const sourceState = z.enum(["up", "down"]);

export const simulationOverridesSchema = z
  .object({
    /** Stops the random evolution; telemetry keeps its current values (overrides still apply). */
    freeze: z.boolean().optional(),
    gpus: z.record(z.string().regex(/^[0-9]+$/, "a GPU index"), gpuOverrideSchema).optional(),
    slots: z.record(z.string().regex(/^[0-9]+(\.[0-9]+)?$/, "a slot such as 0 or 2.1"), slotOverrideSchema).optional(),
    unmanaged: z
      .object({ total: z.number().int().min(0), running: z.number().int().min(0), allAccess: z.number().int().min(0) })
      .strict()
      .optional(),
    /** "down" makes the simulated source fail its reads (DCGM answers 503). */
    sources: z.object({ ds01: sourceState.optional(), drm: sourceState.optional(), dcgm: sourceState.optional() }).strict().optional(),
    drm: drmOverrideSchema.optional(),
  })
  .strict();

export type SimulationOverrides = z.infer<typeof simulationOverridesSchema>;
export type GpuOverride = z.infer<typeof gpuOverrideSchema>;
export type SlotOverride = z.infer<typeof slotOverrideSchema>;
export type DrmOverride = z.infer<typeof drmOverrideSchema>;

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
      const text = readFileSync(this.path, "utf8");
      this.value = text.trim() === "" ? NO_OVERRIDES : simulationOverridesSchema.parse(JSON.parse(text));
      log("info", "simulation overrides loaded", { path: this.path });
    } catch (err: unknown) {
      const message = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") : err instanceof Error ? err.message : String(err);
      log("warn", "simulation overrides ignored (previous ones kept)", { path: this.path, error: message });
    }
    return this.value;
  }
}
