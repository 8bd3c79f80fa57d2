import {
  DCGM_ENTITY_FIELDS,
  DCGM_ENTITY_LABELS,
  DCGM_GPU_FIELDS,
  DCGM_GPU_LABELS,
  DCGM_GPU_RATE_FIELDS,
  DCGM_RATE_WINDOW,
  DCGM_XID_LABELS,
  TARGET_LABELS,
  agg,
  call,
  dcgm,
  framebufferPercent,
  measured,
  measuredOverWindow,
  range,
  recorded,
  sel,
  withHostLabel,
} from "../../metrics";
import { record, type RecordingRule, type RuleGroup } from "../model";

/**
 * DCGM fields recorded clean, once, for the dashboards: blank values dropped, `Hostname` or
 * `hostname` folded into `host`, and per physical GPU where the field is about the card (a MIG
 * GPU repeats it on every instance). A panel then reads one selector on a few series instead of
 * two selectors, a filter and an aggregation over every label DCGM writes.
 */

/** `max by (labels) (...)`: one series per entity (or GPU) with only `labels` and the target's. */
function clean(expr: string, labels: readonly string[]): string {
  return agg("max", withHostLabel(measured(expr)), [...labels, ...TARGET_LABELS]);
}

export function dcgmRecordingGroups(): RuleGroup[] {
  const rules: RecordingRule[] = [
    ...DCGM_ENTITY_FIELDS.map((f) => record(recorded[`gpu_entity:${f}:measured`].name, clean(sel(dcgm[f]), DCGM_ENTITY_LABELS))),
    record(recorded["gpu_entity:dcgm_framebuffer_used:percent"].name, agg("max", withHostLabel(framebufferPercent()), [...DCGM_ENTITY_LABELS, ...TARGET_LABELS])),
    ...DCGM_GPU_FIELDS.map((f) => record(recorded[`gpu:${f}:measured`].name, clean(sel(dcgm[f]), DCGM_GPU_LABELS))),
    record(recorded["gpu:DCGM_FI_DEV_XID_ERRORS:measured"].name, clean(sel(dcgm.DCGM_FI_DEV_XID_ERRORS), DCGM_XID_LABELS)),
    // A window holding a blank sample is left out: rate() would read it as an enormous jump.
    ...DCGM_GPU_RATE_FIELDS.map((f) =>
      record(
        recorded[`gpu:${f}:rate5m`].name,
        agg("max", withHostLabel(`${call("rate", range(dcgm[f], DCGM_RATE_WINDOW))} and (${measuredOverWindow(dcgm[f], DCGM_RATE_WINDOW)})`), [...DCGM_GPU_LABELS, ...TARGET_LABELS]),
      ),
    ),
  ];
  return [{ name: "dcgm_measured", interval: "30s", rules }];
}
