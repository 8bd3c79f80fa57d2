import type { RuleContext } from "../context";
import type { RuleSet } from "../model";
export function dcgmRuleSet(_ctx: RuleContext): RuleSet { return { id: "dcgm", title: "DCGM hardware", recording: [], alerting: [] }; }
