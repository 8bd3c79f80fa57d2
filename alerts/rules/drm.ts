import type { RuleContext } from "../context";
import type { RuleSet } from "../model";
export function drmRuleSet(_ctx: RuleContext): RuleSet { return { id: "drm", title: "DRM", recording: [], alerting: [] }; }
