import { call, dcgm, measured, measuredOverWindow, perPhysicalGpu, range, sel } from "../../metrics";
import type { RuleContext } from "../context";
import { dcgmRecordingGroups } from "./dcgm-recording";
import { alert, humanized, input, num, type AlertingRule, type RuleSet } from "../model";
import { SENTINEL_SAMPLE, gpuLabels } from "./fixtures";

/**
 * GPU hardware health from DCGM: memory errors, row remapping, throttling, one alert per physical
 * GPU (a MIG GPU's instances repeat these device fields). Every expression drops
 * DCGM's blank values: a counter window holding one is skipped (a blank inside rate() or an
 * increase would read as an enormous jump), a gauge's blank sample is filtered out.
 */

type GpuCounter = (typeof dcgm)["DCGM_FI_DEV_THERMAL_VIOLATION" | "DCGM_FI_DEV_POWER_VIOLATION" | "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL"];

function counterAlerts(ctx: RuleContext): AlertingRule[] {
  const t = ctx.thresholds.dcgm;
  const w = t.rateWindow;
  const job = ctx.jobs.dcgmExporter;
  const labels = gpuLabels("0", job);
  const series = (m: GpuCounter, values: string) => input(m, labels, values);
  // A blank sample every four minutes: every window holds one, for longer than any hold time.
  const blankEvery4m = Array.from({ length: 8 }, () => `0x2 ${SENTINEL_SAMPLE}`).join(" ");

  // Throttle counters are nanoseconds of throttling (DCGM's field docs); per second of wall time,
  // divided by 1e7, that is a percentage.
  const throttle = (name: string, m: GpuCounter, percent: number, cause: string, key: string) => {
    const nsPerMinute = (share: number) => num(share * 60e9);
    const over = Math.min(100, percent + (100 - percent) / 2);
    return alert({
      alert: name,
      expr: `(${perPhysicalGpu(call("rate", range(m, w)))} / 10000000 > ${num(percent)}) and (${perPhysicalGpu(measuredOverWindow(m, w))})`,
      for: "10m",
      severity: "warning",
      summary: `GPU {{ $labels.gpu }} is throttled by ${cause}`,
      description: `GPU {{ $labels.gpu }} on {{ $labels.instance }} has been ${cause}-throttled {{ $value | humanize }}% of the time over ${w}.`,
      condition: `share of time the GPU clocks were held down by ${cause}, over the rate window`,
      thresholds: { [key]: percent, "dcgm.rateWindow": w },
      cases: [
        {
          name: "throttled most of the time fires",
          input: [series(m, `0+${nsPerMinute(over / 100)}x30`)],
          at: "25m",
          expect: [
            {
              labels,
              summary: `GPU 0 is throttled by ${cause}`,
              description: `GPU 0 on dcgm-exporter:9400 has been ${cause}-throttled ${humanized(over)}% of the time over ${w}.`,
            },
          ],
        },
        { name: "rarely throttled stays quiet", input: [series(m, `0+${nsPerMinute(percent / 200)}x30`)], at: "25m", expect: [] },
        {
          // 2^47 ns is 39 hours of throttling since the driver loaded: a real count, not a blank.
          name: "a counter past 2^47 still counts",
          input: [series(m, `${num(2 ** 48)}+${nsPerMinute(over / 100)}x30`)],
          at: "25m",
          expect: [
            {
              labels,
              summary: `GPU 0 is throttled by ${cause}`,
              description: `GPU 0 on dcgm-exporter:9400 has been ${cause}-throttled ${humanized(over)}% of the time over ${w}.`,
            },
          ],
        },
        {
          name: "blank samples inside the window are not throttling",
          input: [series(m, blankEvery4m)],
          at: "25m",
          expect: [],
        },
      ],
    });
  };

  const dbe = dcgm.DCGM_FI_DEV_ECC_DBE_VOL_TOTAL;
  return [
    alert({
      alert: "GPUDoubleBitECCError",
      // Uncorrectable memory errors: the data in GPU memory was corrupted.
      expr: `(${perPhysicalGpu(call("increase", range(dbe, w)))} > 0) and (${perPhysicalGpu(measuredOverWindow(dbe, w))})`,
      severity: "critical",
      summary: "GPU {{ $labels.gpu }} has uncorrectable memory errors",
      description: `GPU {{ $labels.gpu }} on {{ $labels.instance }} counted double-bit (uncorrectable) ECC errors in the last ${w}. Running jobs may have corrupt results; drain the GPU and reset it.`,
      condition: `the volatile double-bit ECC counter grew over the rate window`,
      thresholds: { "dcgm.rateWindow": w },
      cases: [
        {
          name: "a new double-bit error fires",
          input: [series(dbe, "0x10 1x10")],
          at: "12m",
          expect: [
            {
              labels,
              summary: "GPU 0 has uncorrectable memory errors",
              description: `GPU 0 on dcgm-exporter:9400 counted double-bit (uncorrectable) ECC errors in the last ${w}. Running jobs may have corrupt results; drain the GPU and reset it.`,
            },
          ],
        },
        { name: "an unchanged count stays quiet", input: [series(dbe, "2x20")], at: "12m", expect: [] },
        { name: "a blank sample is not an error", input: [series(dbe, `0x10 ${SENTINEL_SAMPLE} 0x10`)], at: "12m", expect: [] },
      ],
    }),
    throttle("GPUThermalThrottling", dcgm.DCGM_FI_DEV_THERMAL_VIOLATION, t.thermalThrottlePercent, "thermal", "dcgm.thermalThrottlePercent"),
    throttle("GPUPowerThrottling", dcgm.DCGM_FI_DEV_POWER_VIOLATION, t.powerThrottlePercent, "power", "dcgm.powerThrottlePercent"),
  ];
}

function gaugeAlerts(ctx: RuleContext): AlertingRule[] {
  const job = ctx.jobs.dcgmExporter;
  const labels = gpuLabels("0", job);
  const failure = dcgm.DCGM_FI_DEV_ROW_REMAP_FAILURE;
  return [
    alert({
      alert: "GPURowRemapFailure",
      expr: `${perPhysicalGpu(measured(sel(failure)))} > 0`,
      for: "1m",
      severity: "critical",
      summary: "GPU {{ $labels.gpu }} failed to remap memory rows",
      description:
        "GPU {{ $labels.gpu }} on {{ $labels.instance }} could not remap a faulty memory row: it has run out of spare rows and needs replacing (NVIDIA's RMA criterion).",
      condition: "DCGM reports that row remapping failed",
      cases: [
        {
          name: "a remap failure fires",
          input: [input(failure, labels, "0x3 1x10")],
          at: "8m",
          expect: [
            {
              labels,
              summary: "GPU 0 failed to remap memory rows",
              description:
                "GPU 0 on dcgm-exporter:9400 could not remap a faulty memory row: it has run out of spare rows and needs replacing (NVIDIA's RMA criterion).",
            },
          ],
        },
        { name: "no failure stays quiet", input: [input(failure, labels, "0x10")], at: "8m", expect: [] },
        { name: "a blank value is not a failure", input: [input(failure, labels, `${SENTINEL_SAMPLE}x10`)], at: "8m", expect: [] },
      ],
    }),
  ];
}

export function dcgmRuleSet(ctx: RuleContext): RuleSet {
  return {
    id: "dcgm",
    title: "DCGM hardware",
    recording: dcgmRecordingGroups(),
    alerting: [{ name: "dcgm_hardware_alerts", interval: "30s", rules: [...counterAlerts(ctx), ...gaugeAlerts(ctx)] }],
  };
}
