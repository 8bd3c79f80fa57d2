import { describe, expect, it } from "vitest";
import { alertingSchema } from "../../alerts/config";
import { RECORDING_RULE_FILE, renderRuleFiles } from "../../alerts/render";
import { SENTINEL_SAMPLE } from "../../alerts/rules/fixtures";
import { DCGM_ENTITY_FIELDS, DCGM_GPU_FIELDS } from "../../metrics";
import { defaultThresholds } from "../../metrics/thresholds";
import { testRecordingRules } from "./tools";

/**
 * The cleaned DCGM recordings (alerts/rules/dcgm-recording.ts) under promtool, on series shaped
 * exactly as dcgm-exporter 4.2.3 writes them (exporter/simulation/dcgm.ts): gpu, UUID, pci_bus_id,
 * device, modelName, GPU_I_PROFILE and GPU_I_ID on a GPU instance, Hostname, then
 * DCGM_FI_DRIVER_VERSION; blank device-level utilisation on MIG instances; and a second host whose
 * label was relabelled to `hostname`.
 */

const recordingFile = () => {
  const file = renderRuleFiles({ thresholds: defaultThresholds(), alerting: alertingSchema.parse(undefined), retentionSize: "20GB" }).find(
    (f) => f.fileName === RECORDING_RULE_FILE,
  );
  if (!file) throw new Error("no recording rule file");
  return file.content;
};

const TARGET = { instance: "gpu01:9400", job: "dcgm-exporter" };
const MODEL = "NVIDIA A100-SXM4-80GB";
const full = { gpu: "0", UUID: "GPU-aaaa", pci_bus_id: "00000000:07:00.0", device: "nvidia0", modelName: MODEL, Hostname: "gpu01", DCGM_FI_DRIVER_VERSION: "550.127.08" };
const mig = (id: string) => ({ gpu: "1", UUID: "GPU-bbbb", pci_bus_id: "00000000:0F:00.0", device: "nvidia1", modelName: MODEL, GPU_I_PROFILE: "3g.40gb", GPU_I_ID: id, Hostname: "gpu01", DCGM_FI_DRIVER_VERSION: "550.127.08" });
/** A host whose exporter label was relabelled to the lower-case spelling. */
const relabelled = { gpu: "0", UUID: "GPU-cccc", pci_bus_id: "00000000:07:00.0", device: "nvidia0", modelName: MODEL, hostname: "gpu02", DCGM_FI_DRIVER_VERSION: "550.127.08" };

type Labels = Record<string, string>;
const series = (name: string, labels: Labels, values: string) => ({
  series: `${name}{${Object.entries({ ...labels, ...TARGET }).map(([k, v]) => `${k}="${v}"`).join(",")}}`,
  values,
});

/** What a recording keeps of an entity: the folded host and the labels a panel groups by. */
const entityOut = (l: Labels): Labels => {
  const { Hostname, hostname, pci_bus_id: _bus, device: _device, DCGM_FI_DRIVER_VERSION: _driver, ...rest } = l;
  return { ...rest, host: Hostname ?? hostname ?? "", ...TARGET };
};
const gpuOut = (l: Labels): Labels => {
  const { GPU_I_ID: _id, GPU_I_PROFILE: _profile, ...rest } = entityOut(l);
  return rest;
};
const sample = (name: string, labels: Labels, value: number) => ({
  labels: `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`,
  value,
});

const promtool = (tests: object) => testRecordingRules(recordingFile(), tests);

describe("cleaned DCGM recordings", () => {
  it("drop blank values, fold Hostname and hostname into host, keep MIG instances apart and GPUs once", async () => {
    const input = [
      series("DCGM_FI_DEV_GPU_UTIL", full, "40x10"),
      series("DCGM_FI_DEV_GPU_UTIL", relabelled, "70x10"),
      // dcgm-exporter reports device-level utilisation blank on every MIG instance.
      series("DCGM_FI_DEV_GPU_UTIL", mig("1"), `${SENTINEL_SAMPLE}x10`),
      series("DCGM_FI_DEV_GPU_UTIL", mig("2"), `${SENTINEL_SAMPLE}x10`),
      series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", mig("1"), "0.25x10"),
      series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", mig("2"), "0.75x10"),
      series("DCGM_FI_DEV_FB_USED", full, "20000x10"),
      series("DCGM_FI_DEV_FB_FREE", full, "60000x10"),
      series("DCGM_FI_DEV_FB_USED", mig("1"), "30000x10"),
      series("DCGM_FI_DEV_FB_FREE", mig("1"), "10000x10"),
      // Temperature is about the card: a MIG GPU repeats it per instance; the last sample of gpu 0 is blank.
      series("DCGM_FI_DEV_GPU_TEMP", full, `61x4 ${SENTINEL_SAMPLE}`),
      series("DCGM_FI_DEV_GPU_TEMP", mig("1"), "70x10"),
      series("DCGM_FI_DEV_GPU_TEMP", mig("2"), "70x10"),
      series("DCGM_FI_DEV_XID_ERRORS", { ...full, err_code: "79", err_msg: "GPU has fallen off the bus" }, "79x10"),
      // Throttled 30 ms of every minute: 30,000,000 ns a minute; the relabelled host's counter reads blank once.
      series("DCGM_FI_DEV_THERMAL_VIOLATION", full, "0+30000000x10"),
      series("DCGM_FI_DEV_THERMAL_VIOLATION", relabelled, `0+30000000x3 ${SENTINEL_SAMPLE} 150000000+30000000x5`),
      // Three corrected ECC errors a minute on the MIG GPU, repeated on each instance's series: one GPU, 0.05 a second.
      series("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", mig("1"), "0+3x10"),
      series("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", mig("2"), "0+3x10"),
    ];
    const result = await promtool({
      interval: "1m",
      input_series: input,
      promql_expr_test: [
        {
          expr: "gpu_entity:DCGM_FI_DEV_GPU_UTIL:measured",
          eval_time: "3m",
          exp_samples: [sample("gpu_entity:DCGM_FI_DEV_GPU_UTIL:measured", entityOut(full), 40), sample("gpu_entity:DCGM_FI_DEV_GPU_UTIL:measured", entityOut(relabelled), 70)],
        },
        {
          expr: "gpu_entity:DCGM_FI_PROF_GR_ENGINE_ACTIVE:measured",
          eval_time: "3m",
          exp_samples: [
            sample("gpu_entity:DCGM_FI_PROF_GR_ENGINE_ACTIVE:measured", entityOut(mig("1")), 0.25),
            sample("gpu_entity:DCGM_FI_PROF_GR_ENGINE_ACTIVE:measured", entityOut(mig("2")), 0.75),
          ],
        },
        {
          expr: "gpu_entity:dcgm_framebuffer_used:percent",
          eval_time: "3m",
          exp_samples: [sample("gpu_entity:dcgm_framebuffer_used:percent", entityOut(full), 25), sample("gpu_entity:dcgm_framebuffer_used:percent", entityOut(mig("1")), 75)],
        },
        {
          expr: "gpu:DCGM_FI_DEV_GPU_TEMP:measured",
          eval_time: "3m",
          exp_samples: [sample("gpu:DCGM_FI_DEV_GPU_TEMP:measured", gpuOut(full), 61), sample("gpu:DCGM_FI_DEV_GPU_TEMP:measured", gpuOut(mig("1")), 70)],
        },
        {
          // Blank now: no reading rather than 9.2e18 degrees.
          expr: "gpu:DCGM_FI_DEV_GPU_TEMP:measured",
          eval_time: "5m30s",
          exp_samples: [sample("gpu:DCGM_FI_DEV_GPU_TEMP:measured", gpuOut(mig("1")), 70)],
        },
        {
          // Half of wall time throttled on gpu01; on gpu02 every 5-minute window up to 8m holds the blank sample, so no rate.
          expr: "round(gpu:DCGM_FI_DEV_THERMAL_VIOLATION:rate5m)",
          eval_time: "6m",
          exp_samples: [sample("", gpuOut(full), 500000)],
        },
        {
          expr: "gpu:DCGM_FI_DEV_ECC_SBE_VOL_TOTAL:rate5m",
          eval_time: "6m",
          exp_samples: [sample("gpu:DCGM_FI_DEV_ECC_SBE_VOL_TOTAL:rate5m", gpuOut(mig("1")), 0.05)],
        },
        {
          expr: "gpu:DCGM_FI_DEV_XID_ERRORS:measured",
          eval_time: "3m",
          exp_samples: [sample("gpu:DCGM_FI_DEV_XID_ERRORS:measured", { ...gpuOut(full), err_code: "79", err_msg: "GPU has fallen off the bus" }, 79)],
        },
      ],
    });
    expect(result.output).toContain("SUCCESS");
    expect(result.code, result.output).toBe(0);
  }, 120_000);

  it("record every field the catalog lists, each in one group", () => {
    const content = recordingFile();
    for (const f of DCGM_ENTITY_FIELDS) expect(content).toContain(`record: gpu_entity:${f}:measured`);
    for (const f of DCGM_GPU_FIELDS) expect(content).toContain(`record: gpu:${f}:measured`);
    expect(content.match(/- name: dcgm_measured/g)).toHaveLength(1);
  });
});
