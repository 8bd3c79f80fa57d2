import { dcgm, ds01 } from "../../metrics";
import { input, type InputSeries } from "../model";

/** Label sets shared by test cases: what the exporters would attach on a DS01 host. */

export const SENTINEL_SAMPLE = "9223372036854775792";

export const gpuLabels = (gpu: string, job: string) =>
  ({
    gpu,
    UUID: `GPU-${gpu}`,
    modelName: "NVIDIA A100-SXM4-40GB",
    Hostname: "gpu-host-1",
    instance: "dcgm-exporter:9400",
    job,
  }) as const;

export const migLabels = (gpu: string, gpuInstance: string, job: string) =>
  ({ ...gpuLabels(gpu, job), GPU_I_ID: gpuInstance, GPU_I_PROFILE: "3g.20gb" }) as const;

export const allocationLabels = (slot: string, container: string, user: string, job: string) =>
  ({
    gpu_slot: slot,
    gpu_uuid: `GPU-${slot}`,
    profile: slot.includes(".") ? "3g.20gb" : "full",
    container,
    user,
    interface: "cli",
    instance: "ds01-exporter:9101",
    job,
  }) as const;

/** A DS01 allocation of a full GPU, and DCGM utilisation for that GPU. */
export function fullGpuAllocation(slot: string, container: string, user: string, util: string, jobs: { exporter: string; dcgm: string }): InputSeries[] {
  return [
    input(ds01.ds01_gpu_allocated, allocationLabels(slot, container, user, jobs.exporter), "1x200"),
    input(dcgm.DCGM_FI_DEV_GPU_UTIL, gpuLabels(slot, jobs.dcgm), util),
  ];
}

/** A DS01 allocation of a MIG slot `<gpu>.<index>`, its mapping to DCGM's GPU_I_ID, and GR_ENGINE_ACTIVE (0-1). */
export function migAllocation(
  gpu: string,
  index: string,
  gpuInstance: string,
  container: string,
  user: string,
  ratio: string,
  jobs: { exporter: string; dcgm: string },
): InputSeries[] {
  const slot = `${gpu}.${index}`;
  return [
    input(ds01.ds01_gpu_allocated, allocationLabels(slot, container, user, jobs.exporter), "1x200"),
    input(
      ds01.ds01_mig_slot_info,
      { gpu, gpu_i_id: gpuInstance, slot, mig_uuid: `MIG-${slot}`, profile: "3g.20gb", instance: "ds01-exporter:9101", job: jobs.exporter },
      "1x200",
    ),
    input(dcgm.DCGM_FI_PROF_GR_ENGINE_ACTIVE, migLabels(gpu, gpuInstance, jobs.dcgm), ratio),
  ];
}
