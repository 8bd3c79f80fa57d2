import { z } from "zod";

/**
 * Alert thresholds and Alertmanager routing, as parts of the stack config
 * (`gpu-monitoring:thresholds`, `gpu-monitoring:alerting`). Defaults follow DS01's rules.
 */
export const thresholdsSchema = z.strictObject({}).default({});
export type Thresholds = z.infer<typeof thresholdsSchema>;

export const alertingSchema = z.strictObject({}).default({});
export type AlertingConfig = z.infer<typeof alertingSchema>;
