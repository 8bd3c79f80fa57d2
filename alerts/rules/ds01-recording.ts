import {
  FULL_GPU,
  MIG_INSTANCE,
  PHYSICAL_GPU_LABELS,
  agg,
  call,
  dcgm,
  ds01,
  eq,
  framebufferPercent,
  labelReplace as replace,
  measured,
  physicalGpuCount,
  recorded,
  sel,
  withMigSlot,
} from "../../metrics";
import type { RuleContext } from "../context";
import { num, record, type RuleGroup } from "../model";

/**
 * DS01's recording rules: slot-level utilisation (full GPUs and MIG instances on one 0-100
 * scale), per-user and system aggregates, waste and device labelling. Names follow DS01's so its
 * dashboards keep working. DCGM reports GPU_UTIL in percent but the MIG profiling field
 * GR_ENGINE_ACTIVE as a 0-1 ratio; the MIG side is scaled by 100 here, once.
 */

const SLOT_LABELS = ["gpu_slot", "gpu", "GPU_I_ID", "UUID", "modelName", "Hostname", "hostname", "instance", "job"];
const DEVICE_LABELS = ["device", "gpu", "UUID", "modelName", "Hostname", "hostname", "instance", "job"];

const toMigSlot = (expr: string) => withMigSlot(expr, "gpu_slot");

const allocatedJoin = (series: string) => `${sel(ds01.ds01_gpu_allocated)} * on(gpu_slot) group_left() ${series}`;
const countOrZero = (expr: string) => `(${agg("count", expr)} or vector(0))`;

export function ds01RecordingGroups(ctx: RuleContext): RuleGroup[] {
  const r = recorded;
  const byDevice = (slotSeries: typeof r["ds01:gpu_utilization_by_slot"] | typeof r["ds01:gpu_memory_percent_by_slot"]) =>
    agg(
      "max",
      `${replace(sel(slotSeries, FULL_GPU), "device", "GPU $1", "gpu_slot")} or ${replace(sel(slotSeries, MIG_INSTANCE), "device", "MIG $1", "gpu_slot")}`,
      DEVICE_LABELS,
    );
  const perGpu = (expr: string) => replace(agg("max", measured(expr), PHYSICAL_GPU_LABELS), "device", "GPU $1", "gpu");
  return [
    {
      name: "ds01_slot_mapping",
      interval: "30s",
      rules: [
        record(
          r["ds01:gpu_utilization_by_slot"].name,
          agg(
            "max",
            `${replace(measured(sel(dcgm.DCGM_FI_DEV_GPU_UTIL, FULL_GPU)), "gpu_slot", "$1", "gpu")} or ${toMigSlot(`${measured(sel(dcgm.DCGM_FI_PROF_GR_ENGINE_ACTIVE, MIG_INSTANCE))} * 100`)}`,
            SLOT_LABELS,
          ),
        ),
        record(
          r["ds01:gpu_memory_percent_by_slot"].name,
          agg("max", `${replace(framebufferPercent(FULL_GPU), "gpu_slot", "$1", "gpu")} or ${toMigSlot(framebufferPercent(MIG_INSTANCE))}`, SLOT_LABELS),
        ),
      ],
    },
    {
      name: "ds01_user_gpu_metrics",
      interval: "30s",
      rules: [
        record(r["ds01:user_gpu_utilization_avg"].name, agg("avg", allocatedJoin(r["ds01:gpu_utilization_by_slot"].name), ["user"])),
        record(r["ds01:user_gpu_utilization_max"].name, agg("max", allocatedJoin(r["ds01:gpu_utilization_by_slot"].name), ["user"])),
        record(r["ds01:user_gpu_memory_percent"].name, agg("avg", allocatedJoin(r["ds01:gpu_memory_percent_by_slot"].name), ["user"])),
        record(r["ds01:user_gpu_equivalents"].name, agg("sum", sel(ds01.ds01_gpu_equivalents), ["user"])),
        // After the per-user sum, in the same group: each membership line takes its user's total.
        record(
          r["ds01:group_gpu_equivalents"].name,
          agg("sum", `${sel(ds01.ds01_user_group_info)} * on(user) group_left() ${r["ds01:user_gpu_equivalents"].name}`, ["group"]),
        ),
        record(
          r["ds01:allocation_utilization"].name,
          agg("max", allocatedJoin(r["ds01:gpu_utilization_by_slot"].name), ["gpu_slot", "container", "user", "interface"]),
        ),
      ],
    },
    {
      name: "ds01_system_aggregates",
      interval: "30s",
      rules: [
        record(r["ds01:system_gpu_utilization_avg"].name, `${agg("avg", r["ds01:gpu_utilization_by_slot"].name)} or vector(0)`),
        record(r["ds01:system_gpu_slots_total"].name, `${countOrZero(sel(ds01.ds01_gpu_slot_info))} + ${countOrZero(sel(ds01.ds01_mig_slot_info))}`),
        record(r["ds01:system_gpu_slots_allocated"].name, countOrZero(sel(ds01.ds01_gpu_allocated))),
        record(
          r["ds01:system_gpu_slots_free"].name,
          call("clamp_min", `${r["ds01:system_gpu_slots_total"].name} - ${r["ds01:system_gpu_slots_allocated"].name}`, 0),
        ),
        // Every physical GPU is 1.0, MIG parents included.
        record(r["ds01:system_gpu_equivalents_total"].name, physicalGpuCount()),
        record(r["ds01:system_gpu_equivalents_allocated"].name, `${agg("sum", sel(ds01.ds01_gpu_equivalents))} or vector(0)`),
        record(
          r["ds01:system_gpu_equivalents_free"].name,
          call("clamp_min", `${r["ds01:system_gpu_equivalents_total"].name} - ${r["ds01:system_gpu_equivalents_allocated"].name}`, 0),
        ),
        record(r["ds01:system_active_users"].name, countOrZero(agg("count", sel(ds01.ds01_gpu_allocated), ["user"]))),
        record(r["ds01:system_containers_running"].name, `${agg("sum", sel(ds01.ds01_containers_total, { status: eq("running") }))} or vector(0)`),
        record(r["ds01:system_gpu_temp_max"].name, `${agg("max", measured(sel(dcgm.DCGM_FI_DEV_GPU_TEMP)))} or vector(0)`),
      ],
    },
    {
      name: "ds01_waste_metrics",
      interval: "30s",
      rules: [
        record(
          r["ds01:gpu_waste_count"].name,
          countOrZero(allocatedJoin(`(${r["ds01:gpu_utilization_by_slot"].name} < ${num(ctx.thresholds.ds01.gpuWasteUtilizationPercent)})`)),
        ),
        record(
          r["ds01:gpu_waste_percent"].name,
          `(${r["ds01:gpu_waste_count"].name} / ${agg("count", sel(ds01.ds01_gpu_allocated))}) * 100 or vector(0)`,
        ),
      ],
    },
    {
      name: "ds01_device_labelling",
      interval: "30s",
      rules: [
        record(r["ds01:device_utilization"].name, byDevice(r["ds01:gpu_utilization_by_slot"])),
        record(r["ds01:device_memory_percent"].name, byDevice(r["ds01:gpu_memory_percent_by_slot"])),
        record(r["ds01:device_temperature"].name, perGpu(sel(dcgm.DCGM_FI_DEV_GPU_TEMP))),
        record(r["ds01:device_power_watts"].name, perGpu(sel(dcgm.DCGM_FI_DEV_POWER_USAGE))),
      ],
    },
  ];
}
