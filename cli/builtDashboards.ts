import { buildDashboards } from "../dashboards";
import { toDashboardModel, type DashboardModel } from "./dashboardSource";

/** The stack's own dashboards, built from the typed definitions in dashboards/. */
export async function builtDashboards(): Promise<DashboardModel[]> {
  return buildDashboards().map((d) => toDashboardModel(d.json, d.fileName));
}
