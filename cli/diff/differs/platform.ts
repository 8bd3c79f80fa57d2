import type { FieldChange } from "../model";
import { RETENTION_FLAGS } from "./prometheus";

/** What both platform differs leave out: Prometheus' retention flags, reported with Prometheus. */
export function withoutRetention(fields: readonly FieldChange[]): FieldChange[] {
  return fields.filter((f) => !RETENTION_FLAGS.some((flag) => f.field.endsWith(`args ${flag}`)));
}
