import type { RuleContext } from "../context";
import type { RuleSet } from "../model";
export function stackRuleSet(_ctx: RuleContext): RuleSet { return { id: "stack", title: "Stack", recording: [], alerting: [] }; }
