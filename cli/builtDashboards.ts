import type { DashboardModel } from "./dashboardSource";
import { CliError } from "./errors";

/** The stack's own dashboards, built from the typed definitions in dashboards/. */
export async function builtDashboards(): Promise<DashboardModel[]> {
  throw new CliError("the built-in dashboards are not available in this build", "pass --from-dir DIR with dashboard JSON files");
}
