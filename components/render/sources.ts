import type { StackConfig } from "../config";
import { renderMinimalAlertmanagerConfig } from "./alertmanager";

/**
 * What the bundle takes from the alerts and dashboards modules. Kept behind these three functions
 * so the bundle has one place that knows where rule files, dashboards and Alertmanager routing
 * come from.
 */
export interface RuleFile {
  readonly fileName: string;
  readonly content: string;
}

export interface DashboardFile {
  readonly uid: string;
  readonly title: string;
  readonly fileName: string;
  readonly json: string;
}

export function ruleFilesFor(_cfg: StackConfig): RuleFile[] {
  return [];
}

export function dashboardsFor(_cfg: StackConfig): DashboardFile[] {
  return [];
}

export function alertmanagerConfigFor(_cfg: StackConfig): string {
  return renderMinimalAlertmanagerConfig();
}
