import type { EventCounts } from "./events-log";

/** DS01's lifecycle enforcement event types and the `action` label each is published under. */
export const LIFECYCLE_ACTIONS: ReadonlyArray<{ readonly eventType: string; readonly action: string }> = [
  { eventType: "maintenance.idle_kill", action: "idle_kill" },
  { eventType: "maintenance.runtime_kill", action: "runtime_kill" },
  { eventType: "resource.oom_kill", action: "oom_kill" },
  { eventType: "alert.gpu_warning", action: "gpu_warning" },
  { eventType: "alert.memory_warning", action: "memory_warning" },
  { eventType: "alert.container_warning", action: "container_warning" },
  { eventType: "bare_metal.warning", action: "bare_metal_warning" },
];

/** The events log's 24 h counts for every lifecycle action, 0 for an action with no events. */
export function lifecycleCounts(counts: EventCounts): Array<{ action: string; count: number }> {
  return LIFECYCLE_ACTIONS.map(({ eventType, action }) => ({ action, count: counts.get(eventType) ?? 0 }));
}
