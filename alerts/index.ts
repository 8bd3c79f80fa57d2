/** Alert and recording rules as typed code, their promtool tests, and Alertmanager routing. */
export {
  alertingSchema,
  receiverSchema,
  thresholdsSchema,
  SEVERITIES,
  type AlertingConfig,
  type Receiver,
  type Severity,
  type Thresholds,
} from "./config";
export { DEFAULT_JOB_NAMES, retentionSizeBytes, type RuleContext } from "./context";
export type { AlertCase, AlertingRule, ExpectedAlert, InputSeries, RecordingRule, Rule, RuleGroup, RuleSet, RuleSetId } from "./model";
export {
  RECORDING_RULE_FILE,
  alertRuleFileName,
  buildRuleSets,
  listAlertRules,
  renderRuleFiles,
  runbookUrl,
  type RenderRuleOptions,
  type RuleFile,
} from "./render";
export { promtoolSuites, renderPromtoolTests, type PromtoolSuite } from "./promtool";
export { caseProblems, ruleProblems } from "./checks";
export {
  ALERTMANAGER_SECRETS_DIR,
  WATCHDOG_DISCARD_RECEIVER,
  renderAlertmanagerConfig,
  type AlertmanagerSecretFile,
  type RenderedAlertmanagerConfig,
} from "./alertmanager";
export { WATCHDOG_ALERT } from "./rules/stack";
export { renderAlertDocs } from "./docs";
